"""Problems are listed by what they cost now: one an open firing meets first, then one that
enabled alerts page through, then one that nothing pages through. The last is not "Paging
broken": its email says no alert pages it, and the dashboard counts it apart from the broken
paging paths (new customer's walk r15, item 7)."""

from __future__ import annotations

import html as markup
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert
from alerts_saas.alerts.problems import problems
from alerts_saas.notices.banner import banner
from alerts_saas.notices.models import PagingProblem
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty import paths
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.tenant_objects import _pd_account

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return " ".join(markup.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _service(org, name: str, account=None) -> PagerDutyService:
    return PagerDutyService.objects.create(
        organization=org, account=account, name=name, integration_key=f"{name:0<32}"[:32]
    )


def _alert(org, name: str, *targets: PagerDutyService) -> Alert:
    alert = Alert.objects.create(organization=org, name=name, threshold=1)
    alert.targets.set(targets)
    return alert


def _refuse(service: PagerDutyService) -> None:
    paths.record([paths.Outcome(service.pk, refused=True, detail="Invalid routing key")])


def _three(org) -> tuple[PagerDutyService, PagerDutyService, PagerDutyAccount]:
    """A refused service no alert pages, seen first; a refused one an alert pages; an account
    to reconnect whose service a firing alert pages."""
    unused = _service(org, "Checkout API 001")
    _refuse(unused)
    used = _service(org, "Payments")
    _alert(org, "Payments 5xx", used)
    _refuse(used)
    account = _pd_account(org, org.memberships.get().user)
    firing_alert = _alert(org, "Checkout errors", _service(org, "Checkout", account=account))
    assert firings.open_firing(firing_alert, 5, timezone.now()) is not None
    PagerDutyAccount.objects.filter(pk=account.pk).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT, refused_at=timezone.now()
    )
    return unused, used, account


def test_problems_are_ordered_by_what_they_cost_now(org, admin_client) -> None:
    unused, used, account = _three(org)
    assert [(p.key, p.impact) for p in problems(org)] == [
        (f"reconnect:account:{account.pk}", 0),  # a firing alert pages through it
        (f"refused:service:{used.pk}", 1),
        (f"refused:service:{unused.pk}", 2),  # nothing pages through it
    ]
    reconcile(org)
    top = banner(org)
    assert top is not None and top.title == f"PagerDuty account {account.name} needs reconnecting"
    listed = list(PagingProblem.objects.open().worst_first().values_list("key", flat=True))
    assert listed[-1] == f"refused:service:{unused.pk}"

    page = admin_client.get(f"/o/{org.slug}/").content.decode()
    said = _text(page)
    assert "1 broken paging path." in said and "2 broken paging paths" not in said
    assert "1 broken service that no alert pages through." in said
    titles = ["needs reconnecting", "PagerDuty refuses Payments", "PagerDuty refuses Checkout API"]
    at = [said.index(t, said.index("Broken paging paths")) for t in titles]
    assert at == sorted(at)
    assert "No enabled alert pages through it." in said

    problems_page = _text(admin_client.get(f"/o/{org.slug}/problems/").content.decode())
    at = [problems_page.index(t) for t in titles]
    assert at == sorted(at)


def test_a_problem_no_alert_pages_through_is_not_emailed_as_paging_broken(org) -> None:
    typo = _service(org, "Typo key")
    _refuse(typo)
    reconcile(org)
    [email] = mail.outbox
    assert email.subject == "[Tripwire] PagerDuty refuses Typo key in Acme Ops (no alert pages it)"
    assert "Paging broken" not in email.subject and "Paging is broken" not in email.body
    assert email.body.startswith(
        "Broken in Acme Ops, though no enabled alert pages through it yet, so no page is lost "
        "to it."
    )
    assert "No enabled alert pages it." in email.body


def test_one_mended_before_anyone_was_told_is_no_email(org, settings) -> None:
    settings.PROBLEM_EMAIL_HOLD_SECONDS = 60
    typo = _service(org, "Typo key")
    _refuse(typo)
    assert reconcile(org).held_until is not None
    PagerDutyService.objects.filter(pk=typo.pk).update(refused_at=None, refused_detail="")
    reconcile(org)
    reconcile(org, timezone.now() + timedelta(minutes=2))
    # No "broken for a minute, fixed now": nothing paged through it, so no page was lost.
    assert mail.outbox == []
    assert not PagingProblem.objects.open().exists()


def test_several_new_ones_count_those_no_alert_pages_through_apart(org) -> None:
    _three(org)
    reconcile(org)
    [email] = mail.outbox
    assert email.subject == (
        "[Tripwire] Acme Ops: 1 new paging problem, 1 new problem no alert pages through, "
        "1 PagerDuty account to reconnect (pages still go out)"
    )
    body = email.body
    assert body.index("needs reconnecting") < body.index("PagerDuty refuses Payments")
    assert body.index("PagerDuty refuses Payments") < body.index("PagerDuty refuses Checkout API")
