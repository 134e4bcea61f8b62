"""A reconnect that mends the account but leaves one of its services refused (or deleted)
in PagerDuty does not say "nothing more to do" under a banner saying otherwise: it names
the service and what to do about it. Through the sandbox's OAuth consent and callback."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.utils import timezone

from integrations.pagerduty import paths
from integrations.pagerduty.models import PagerDutyService
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError

pytestmark = pytest.mark.django_db


def _words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _refused(service: PagerDutyService, detail: str) -> None:
    PagerDutyService.objects.filter(pk=service.pk).update(
        refused_at=timezone.now(), refused_detail=detail
    )


def _reconnect(admin_client, org, account, pagerduty, authorize) -> str:
    pagerduty.revoke_tokens(all=True)
    with pytest.raises(PagerDutyApiError):
        AccountApi(account).services()
    response = admin_client.get(authorize(admin_client))
    assert response.status_code == 302
    return _words(admin_client.get(response["Location"]).content.decode())


@pytest.mark.parametrize(
    ("detail", "left"),
    [
        (
            "Invalid routing key",
            "Checkout API 001 is still refused by PagerDuty: choose it again under "
            "“Add services” to give it a new integration.",
        ),
        (
            paths.SERVICE_DELETED,
            "Checkout API 001 was deleted in PagerDuty: connect another service under "
            "“Add services”, choose it in the alerts that page this one, then delete this one.",
        ),
    ],
)
def test_a_service_still_refused_is_named_not_nothing_more_to_do(
    admin_client, org, connected_service, authorize, pagerduty, detail, left
) -> None:
    assert connected_service.name == "Checkout API 001"
    _refused(connected_service, detail)

    landed = _reconnect(admin_client, org, connected_service.account, pagerduty, authorize)

    assert f"{connected_service.account.name} reconnected:" in landed
    assert "nothing more to do" not in landed
    assert left in landed


def test_with_nothing_left_it_still_says_nothing_more_to_do(
    admin_client, org, connected_service, authorize, pagerduty
) -> None:
    landed = _reconnect(admin_client, org, connected_service.account, pagerduty, authorize)
    assert "Its services stay connected as they were; nothing more to do." in landed
    assert "still refused" not in landed
