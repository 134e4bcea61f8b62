"""A connected service whose PagerDuty service was deleted: the service picker's complete
list of the account's services leaves it out, so it is marked refused ('Service deleted in
PagerDuty') and Integrations, the dashboard, the banner and the alert's page say so. A list
that may leave services out (a search, an error, paging cut short) marks nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from integrations.pagerduty import paths, picker, removal, rest
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.rest import AccountApi

pytestmark = pytest.mark.django_db


def _words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _picker_url(org: Organization, service: PagerDutyService) -> str:
    return f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{service.account_id}/services/"


def _deleted(service: PagerDutyService) -> bool:
    service.refresh_from_db()
    return service.refused_at is not None and service.refused_detail == paths.SERVICE_DELETED


def test_a_service_deleted_in_the_sandbox_reads_deleted(
    org: Organization, connected_service: PagerDutyService, pagerduty: Any, admin_client: Any
) -> None:
    alert = Alert.objects.create(
        organization=org, name="Checkout errors", counting_since=timezone.now() - timedelta(hours=1)
    )
    alert.targets.add(connected_service)
    pd_id = connected_service.pd_service_id
    pagerduty.delete_service(pd_id)

    page = admin_client.get(_picker_url(org, connected_service)).content.decode()
    assert f'value="{pd_id}"' not in page  # PagerDuty no longer lists it
    assert "Paging problem: Checkout API 001 was deleted in PagerDuty" in _words(page)
    assert _deleted(connected_service)

    integrations = _words(
        admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    )
    assert "Deleted in PagerDuty" in integrations
    assert (
        "It was deleted in PagerDuty, so pages to it can't get through. Connect another "
        "service under “Add services”, choose it in the alerts that page this one, then "
        "delete this one."
    ) in integrations
    dashboard = _words(admin_client.get(f"/o/{org.slug}/").content.decode())
    assert "Checkout API 001 was deleted in PagerDuty" in dashboard
    alert_page = _words(admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode())
    assert re.search(r"Checkout API 001 ?: It was deleted in PagerDuty", alert_page)
    assert "Connect another service in Integrations, choose it in the alerts" in alert_page

    # Seen again, it is not marked twice: its first time and words stay.
    first = connected_service.refused_at
    admin_client.get(_picker_url(org, connected_service))
    connected_service.refresh_from_db()
    assert connected_service.refused_at == first

    # Deleting it here asks nothing more of PagerDuty: there is no integration left there.
    delete_url = (
        f"/o/{org.slug}/settings/integrations/pagerduty/services/{connected_service.pk}/delete/"
    )
    confirm = admin_client.get(delete_url).content.decode()
    assert "What you must do in PagerDuty" not in confirm
    seen = ",".join(map(str, sorted(removal.plan_service_removal(connected_service).orphan_ids)))
    response = admin_client.post(delete_url, {"seen": seen, "alerts": "nobody"}, follow=True)
    done = _words(response.content.decode())
    assert "Checkout API 001 was removed from Tripwire." in done
    assert "remove the integration" not in done
    assert not PagerDutyService.objects.filter(pk=connected_service.pk).exists()


def test_a_list_that_may_leave_services_out_marks_nothing(
    org: Organization,
    connected_service: PagerDutyService,
    pagerduty: Any,
    admin_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = connected_service.account
    assert account is not None
    # A service on the list's second page (the sandbox lists 139, by name), also connected.
    edge = next(s for s in pagerduty.account("us")["services"] if s["name"] == "Edge Gateway")
    later = PagerDutyService.objects.create(
        organization=org,
        account=account,
        pd_service_id=edge["id"],
        name="Edge Gateway",
        integration_id=edge["integrations"][0]["id"],
        integration_key="e" * 32,
    )
    pagerduty.delete_service(connected_service.pd_service_id)
    url = _picker_url(org, connected_service)

    # A search PagerDuty filters: it finds what it finds, and says nothing of the rest.
    searched = AccountApi(account).service_list("Checkout")
    assert not searched.complete
    assert picker.mark_removed(account, searched.services, searched.complete) == 0

    # PagerDuty failing: the picker says so and judges nothing.
    pagerduty.fault("rest-us", "500", count=20)
    assert admin_client.get(url).status_code == 502
    pagerduty.clear_faults()

    # Paging cut short (PagerDuty pages no further than offset + limit 10,000): one page.
    monkeypatch.setattr(rest, "ITERATION_LIMIT", 100)
    assert admin_client.get(url).status_code == 200
    for service in (connected_service, later):
        service.refresh_from_db()
        assert service.refused_at is None

    # The whole list, read to its end, says it: the deleted one only.
    monkeypatch.undo()
    assert admin_client.get(url).status_code == 200
    assert _deleted(connected_service)
    later.refresh_from_db()
    assert later.refused_at is None


class _Pages:
    """A REST client answering GET /services with these bodies, one call after another."""

    def __init__(self, *bodies: dict[str, Any]) -> None:
        self.bodies = list(bodies)
        self.offsets: list[int] = []

    def jget(self, url: str, params: dict[str, Any]) -> dict[str, Any]:
        assert url == "/services" and params["total"] == "true"
        self.offsets.append(params["offset"])
        return self.bodies.pop(0)


def _listed(*ids: str) -> list[dict[str, Any]]:
    return [{"id": i, "name": i} for i in ids]


@pytest.mark.parametrize(
    ("bodies", "complete"),
    [
        # Every page read, each counting what was read.
        ([{"services": _listed("A", "B"), "more": True, "total": 3},
          {"services": _listed("C"), "more": False, "total": 3}], True),
        # A service deleted between pages: the total changed, an offset shifted ("C" unread).
        ([{"services": _listed("A", "B"), "more": True, "total": 4},
          {"services": _listed("D"), "more": False, "total": 3}], False),
        # A service added between pages: one listed twice.
        ([{"services": _listed("A", "B"), "more": True, "total": 3},
          {"services": _listed("B", "C"), "more": False, "total": 3}], False),
        # No count given, or no word on whether there is more.
        ([{"services": _listed("A"), "more": False, "total": None}], False),
        ([{"services": _listed("A"), "total": 1}], False),
    ],
)  # fmt: skip
def test_a_list_is_complete_only_when_read_and_counted_to_its_end(
    bodies: list[dict[str, Any]], complete: bool
) -> None:
    pages = _Pages(*bodies)
    listed = rest._all_services(pages, {"include[]": ["integrations"]})  # type: ignore[arg-type]
    assert listed.complete is complete
    assert pages.offsets == [0, 2][: len(bodies)]


def test_another_organizations_service_with_the_same_id_is_untouched(
    org: Organization,
    connected_service: PagerDutyService,
    pagerduty: Any,
    admin_client: Any,
    make_org: Any,
) -> None:
    account = connected_service.account
    assert account is not None
    other = make_org("Other Ops")
    # The same PagerDuty account, connected by another organization, with the same service.
    theirs = PagerDutyAccount.objects.create(
        organization=other,
        pd_account_id=account.pd_account_id,
        subdomain=account.subdomain,
        name=account.name,
        region="us",
        access_token="other-access",
        refresh_token="other-refresh",
        expires_at=timezone.now() + timedelta(days=1),
        scope="write",
        connected_by=other.memberships.get().user,
    )
    their_service = PagerDutyService.objects.create(
        organization=other,
        account=theirs,
        pd_service_id=connected_service.pd_service_id,
        name="Checkout API 001",
        integration_id="PINTTHEIRS",
        integration_key="t" * 32,
    )
    pagerduty.delete_service(connected_service.pd_service_id)

    assert admin_client.get(_picker_url(org, connected_service)).status_code == 200

    assert _deleted(connected_service)
    their_service.refresh_from_db()
    assert their_service.refused_at is None and their_service.refused_detail == ""
    # Their service can't be marked through our organization's account, either.
    assert paths.mark_removed(org.pk, {their_service.pk: paths.SERVICE_DELETED}) == 0
    their_service.refresh_from_db()
    assert their_service.refused_at is None


def test_a_service_a_page_found_refused_reads_deleted_once_the_list_says_so(
    org: Organization, connected_service: PagerDutyService, pagerduty: Any, admin_client: Any
) -> None:
    # Deleted in PagerDuty, its next page refused for its key: "choose it again" can't work.
    pagerduty.delete_service(connected_service.pd_service_id)
    refused_at = timezone.now() - timedelta(minutes=20)
    PagerDutyService.objects.filter(pk=connected_service.pk).update(
        refused_at=refused_at, refused_detail="Invalid routing key"
    )

    admin_client.get(_picker_url(org, connected_service))

    assert _deleted(connected_service)
    assert connected_service.refused_at == refused_at  # since when it can't page
    integrations = _words(
        admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    )
    assert "It was deleted in PagerDuty" in integrations
    assert "Choose it again" not in integrations
