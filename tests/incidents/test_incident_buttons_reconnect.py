"""An open incident's buttons are withheld while its account needs reconnecting (r15 nit
15): Acknowledge was offered and pressing it answered "Incident #7 was not acknowledged…".
One line says why and what to do instead; "Resolve in PagerDuty", when offered, asks first,
as Tripwire's own Resolve does."""

from __future__ import annotations

import html
import re

import pytest

from integrations.pagerduty.models import PagerDutyAccount
from tests.incidents.test_incident_pages import _get, _incident
from tests.incidents.test_incident_pages import firing as firing  # the fixture

pytestmark = pytest.mark.django_db


def test_an_account_to_reconnect_withholds_the_buttons_and_says_why(
    admin_client, org, firing
) -> None:
    alert, trigger = firing
    _incident(trigger, number=7)
    account = trigger.service.account
    PagerDutyAccount.objects.filter(pk=account.pk).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT
    )
    page = html.unescape(_get(admin_client, f"/o/{org.slug}/alerts/{alert.pk}/"))
    assert ">Acknowledge<" not in page and "Resolve in PagerDuty<" not in page
    assert "Add a note" not in page
    line = re.search(r'<p class="incident-reconnect">(.*?)</p>', page, re.S)
    assert line is not None
    words = re.sub(r"<[^>]+>", "", line.group(1))
    assert words == (
        f"Reconnect {account.name} to acknowledge, resolve or add a note from Tripwire "
        "(Settings → Integrations); until then, do it in PagerDuty."
    )
    assert "Incident #7 in PagerDuty" in page  # the way to it stays


def test_resolve_in_pagerduty_asks_first(admin_client, org, firing) -> None:
    alert, trigger = firing
    _incident(trigger, number=7)
    page = html.unescape(_get(admin_client, f"/o/{org.slug}/alerts/{alert.pk}/"))
    assert ">Acknowledge<" in page
    form = re.search(r'<form [^>]*/incidents/\d+/resolve/"[^>]*>', page)
    assert form is not None
    assert (
        'data-confirm="Resolves incident #7 in PagerDuty: it stops paging whoever it '
        'escalates to. Resolve it?"'
    ) in form.group(0)
