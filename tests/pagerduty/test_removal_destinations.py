"""Removing a service offers to move its alerts to another one: never to a service that can't
page (PagerDuty refuses its key, or it was deleted there), which the page names with why; a
service that still pages but is not well is offered with what is wrong. Against the
sandbox: the refusal and the deletion are PagerDuty's answers, recorded as the product does."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from alerts_saas.accounts.models import Organization
from devtools.sandbox.testing import SandboxProcess
from integrations.pagerduty import paths, service_check
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.pagerduty.test_removal import _base, alert_on, delete_url, fire, section, snapshot

pytestmark = pytest.mark.django_db

NOT_TAKEN = (
    "That service can't take them now: it was removed, or pages to it can't get through. "
    "Choose another service."
)


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def _options(page: str) -> dict[int, str]:
    return {
        int(pk): html.unescape(label)
        for pk, label in re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', page)
    }


@pytest.fixture
def services(
    connect, admin_client: Client, org: Organization, pagerduty: SandboxProcess, make_service
) -> dict[str, PagerDutyService]:
    """Edge Gateway (to remove), Postgres Primary (then deleted in PagerDuty), Redis Cache
    (fine), connected; Checkout API 001 pasted, its integration then removed in PagerDuty."""
    account = connect(admin_client)
    ids = {s["name"]: s["id"] for s in pagerduty.account("us")["services"]}
    names = ["Edge Gateway", "Postgres Primary", "Redis Cache"]
    admin_client.post(
        f"{_base(org)}/accounts/{account.pk}/services/", {"service": [ids[n] for n in names]}
    )
    found = {s.name: s for s in PagerDutyService.objects.filter(organization=org)}
    found["Checkout API 001"] = make_service("Checkout API 001")
    return found


def _break(org: Organization, services: dict[str, PagerDutyService], pagerduty) -> None:
    """PagerDuty refuses the pasted key (its integration removed there: a trigger is
    refused), and deletes Postgres Primary (the beat's service check hears its 404)."""
    checkout, postgres = services["Checkout API 001"], services["Postgres Primary"]
    pagerduty.remove_integration(checkout.integration_id)
    fire(alert_on(org, "Checkout errors", checkout))
    pagerduty.delete_service(postgres.pd_service_id)
    assert postgres.account is not None
    assert service_check.check_account(postgres.account) == 1
    checkout.refresh_from_db()
    postgres.refresh_from_db()
    assert checkout.refused_at is not None
    assert postgres.refused_detail == paths.SERVICE_DELETED


def test_services_that_cannot_page_are_not_offered_and_the_page_says_why(
    admin_client, org, services, pagerduty
) -> None:
    edge, redis_cache = services["Edge Gateway"], services["Redis Cache"]
    postgres = services["Postgres Primary"]
    alert = alert_on(org, "Edge heartbeat missing", edge)
    _break(org, services, pagerduty)

    page = admin_client.get(delete_url(org, edge)).content.decode()
    orphaned = section(page, "orphaned-alerts")
    assert _options(orphaned) == {redis_cache.pk: "Redis Cache"}
    assert "Move it to another service" in orphaned
    unusable = _text(orphaned.split('id="unusable-services"')[1].split("</div>")[0])
    assert "Not offered, since pages to them can't get through:" in unusable
    assert (
        "Checkout API 001 (Refused by PagerDuty): PagerDuty refuses its integration key" in unusable
    )
    assert (
        "Postgres Primary (Deleted in PagerDuty): It was deleted in PagerDuty, so pages to it "
        "can't get through." in unusable
    )

    # Posted anyway (an old tab): refused, nothing moved or removed.
    before = snapshot()
    refused = admin_client.post(
        delete_url(org, edge), {"seen": str(alert.pk), "alerts": "move", "move_to": postgres.pk}
    )
    assert refused.status_code == 400
    assert NOT_TAKEN in _text(refused.content.decode())
    assert snapshot() == before

    # An account to reconnect still pages through its services' keys: offered, and said so.
    PagerDutyAccount.objects.filter(pk=redis_cache.account_id).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT
    )
    orphaned = section(admin_client.get(delete_url(org, edge)).content.decode(), "orphaned-alerts")
    assert _options(orphaned) == {
        redis_cache.pk: "Redis Cache (its PagerDuty account needs reconnecting; pages still go out)"
    }
    moved = admin_client.post(
        delete_url(org, edge), {"seen": str(alert.pk), "alerts": "move", "move_to": redis_cache.pk}
    )
    assert moved.status_code == 302
    assert list(alert.targets.all()) == [redis_cache]


def test_with_only_services_that_cannot_page_left_there_is_nothing_to_move_to(
    admin_client, org, services, pagerduty
) -> None:
    edge = services["Edge Gateway"]
    alert_on(org, "Edge heartbeat missing", edge)
    _break(org, services, pagerduty)
    PagerDutyService.objects.filter(pk=services["Redis Cache"].pk).delete()

    orphaned = section(admin_client.get(delete_url(org, edge)).content.decode(), "orphaned-alerts")
    words = _text(orphaned)
    assert "There is no other service that can page to move it to." in words
    assert 'value="move"' not in orphaned and "<select" not in orphaned
    assert "Postgres Primary (Deleted in PagerDuty)" in words
    assert "Checkout API 001 (Refused by PagerDuty)" in words


def test_a_service_refused_after_the_page_was_shown_is_not_moved_to(
    admin_client, org, services
) -> None:
    edge, postgres = services["Edge Gateway"], services["Postgres Primary"]
    alert = alert_on(org, "Edge heartbeat missing", edge)
    page = admin_client.get(delete_url(org, edge)).content.decode()
    assert postgres.pk in _options(section(page, "orphaned-alerts"))

    paths.mark_removed(org.pk, {postgres.pk: paths.SERVICE_DELETED})  # the beat hears meanwhile
    before = snapshot()
    response = admin_client.post(
        delete_url(org, edge), {"seen": str(alert.pk), "alerts": "move", "move_to": postgres.pk}
    )
    assert response.status_code == 400
    words = _text(response.content.decode())
    assert NOT_TAKEN in words
    assert "Postgres Primary (Deleted in PagerDuty): It was deleted in PagerDuty" in words
    assert snapshot() == before
