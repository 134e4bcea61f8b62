"""A connected service PagerDuty refuses, on an account that needs reconnecting (r18
should-fix 3): "Add services" is hidden until the account is reconnected, so the advice says
to reconnect first, on Integrations, on other pages, and to a member; on an account that
works, it says to choose the service again as before."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.utils import timezone

from integrations.pagerduty import paths
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService

pytestmark = pytest.mark.django_db


def _words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _refused(service: PagerDutyService, reconnect: bool) -> PagerDutyService:
    PagerDutyService.objects.filter(pk=service.pk).update(
        refused_at=timezone.now(), refused_detail="Invalid routing key"
    )
    if reconnect:
        PagerDutyAccount.objects.filter(pk=service.account_id).update(
            status=PagerDutyAccount.Status.NEEDS_RECONNECT
        )
    return PagerDutyService.objects.select_related("account").get(pk=service.pk)


def test_integrations_says_to_reconnect_first(admin_client, org, connected_service) -> None:
    service = _refused(connected_service, reconnect=True)
    name = service.account.name
    page = admin_client.get(f"/o/{org.slug}/settings/integrations/")
    words = _words(page.content.decode())
    assert (
        f"Reconnect {name} first, with the button above: “Add services” is hidden until "
        "then. Then choose it again under “Add services” to give it a new integration."
    ) in words

    health = paths.service_health(service)
    assert health.words.endswith(
        f"Reconnect PagerDuty account {name} first (“Reconnect {name}” in Integrations): "
        "“Add services” is hidden until then. Then choose it again under “Add services” to "
        "give it a new integration."
    )
    assert health.advice(False, org.name).endswith(
        f"Ask an owner or admin of {org.name} to reconnect PagerDuty account {name}, then "
        "choose it again under “Add services” in Integrations, to give it a new integration."
    )


def test_an_account_that_works_says_to_choose_it_again(connected_service) -> None:
    health = paths.service_health(_refused(connected_service, reconnect=False))
    assert health.mend == "Choose it again under “Add services” to give it a new integration."
    assert "Reconnect" not in health.words
