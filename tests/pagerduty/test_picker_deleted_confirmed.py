"""A connected service is called "deleted in PagerDuty" only when PagerDuty says so: a
complete list that leaves it out is not proof (a list shows what the token can see, and a
service deleted and another created between its pages shifts a live one out of reach), so
each service left out is asked about (`GET /services/{id}`) and only a 404 marks it. A
service marked deleted that PagerDuty lists again loses that mark."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any, ClassVar

import pytest
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from devtools.sandbox.client import LoopbackRestClient
from integrations.pagerduty import paths, service_check
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.rest import AccountApi
from integrations.pagerduty.views.banner import problems_now
from tests.pagerduty_fixtures import connect_service, unmarked

pytestmark = pytest.mark.django_db

NEW_SERVICE = {"id": "PNEWSVC", "type": "service", "name": "Zz created meanwhile"}


class RacingClient(LoopbackRestClient):
    """The sandbox, as if between the list's pages the first service of the second page
    moved onto the first (one before it deleted) and a new one was created at the end: the
    total stays the same and the second page starts one service later."""

    def jget(self, url: Any, **kw: Any) -> Any:
        body = super().jget(url, **kw)
        if url == "/services" and kw["params"]["offset"] > 0:
            body["services"] = [*body["services"][1:], NEW_SERVICE]
        return body


class HidingClient(LoopbackRestClient):
    """The sandbox, listing services without `hidden` (one on the last page), as a token
    that can't see it would; `before_get` runs before each GET of one service."""

    hidden: ClassVar[str] = ""
    before_get: ClassVar[Any] = None

    def jget(self, url: Any, **kw: Any) -> Any:
        body = super().jget(url, **kw)
        if url == "/services" and HidingClient.hidden:  # each page counts one fewer
            body["services"] = [s for s in body["services"] if s["id"] != HidingClient.hidden]
            body["total"] -= 1
        return body

    def rget(self, resource: Any, **kw: Any) -> Any:
        if HidingClient.before_get is not None:
            HidingClient.before_get()
        return super().rget(resource, **kw)


def _words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _picker(admin_client: Any, account: PagerDutyAccount) -> str:
    slug = account.organization.slug
    url = f"/o/{slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"
    response = admin_client.get(url)
    assert response.status_code == 200
    return _words(response.content.decode())


def _asked(pagerduty: Any, pd_id: str) -> int:
    """How many times the sandbox was asked for this one service."""
    path = f"/rest/us/services/{pd_id}"
    return sum(1 for r in pagerduty.requests_log("rest-us") if r["path"] == path)


def test_a_live_service_shifted_out_of_the_list_between_its_pages_is_not_marked(
    connected_service: PagerDutyService, pagerduty: Any, admin_client: Any, settings: Any
) -> None:
    account = connected_service.account
    assert account is not None
    first_of_page_two = AccountApi(account).services()[100]
    shifted = connect_service(account, first_of_page_two, pagerduty)
    settings.PAGERDUTY_REST_CLIENT = f"{__name__}.RacingClient"
    listed = AccountApi(account).service_list()
    assert listed.complete  # every page read and counted: the race does not show
    assert shifted.pd_service_id not in {s["id"] for s in listed.services}

    page = _picker(admin_client, account)
    assert "deleted in PagerDuty" not in page
    assert service_check.check_account(account) == 0  # beat's read, the same
    assert unmarked(shifted) and unmarked(connected_service)
    assert _asked(pagerduty, shifted.pd_service_id) == 2  # once a read, the others never
    assert _asked(pagerduty, connected_service.pd_service_id) == 0


def test_only_pagerdutys_404_marks_a_service_left_out_of_the_list(
    connected_service: PagerDutyService, pagerduty: Any, admin_client: Any, settings: Any
) -> None:
    account = connected_service.account
    assert account is not None
    hidden = connect_service(account, AccountApi(account).services()[-1], pagerduty)
    settings.PAGERDUTY_REST_CLIENT = f"{__name__}.HidingClient"
    HidingClient.hidden = hidden.pd_service_id
    HidingClient.before_get = None

    assert AccountApi(account).service_list().complete
    # Out of the token's sight, but PagerDuty shows it when asked: not deleted.
    assert "deleted in PagerDuty" not in _picker(admin_client, account)
    assert unmarked(hidden)

    # PagerDuty failing when asked: nothing is judged.
    HidingClient.before_get = lambda: pagerduty.fault("rest-us", "500", count=10)
    try:
        assert service_check.check_account(account) == 0
    finally:
        HidingClient.before_get = None
        pagerduty.clear_faults()
    assert unmarked(hidden)

    # Shown without our integration: the integration was removed, the service was not.
    pagerduty.remove_integration(hidden.integration_id)
    page = _picker(admin_client, account)
    hidden.refresh_from_db()
    assert hidden.refused_detail == paths.INTEGRATION_REMOVED
    assert f"{hidden.name} was deleted in PagerDuty" not in page

    # Deleted: PagerDuty's 404 says so.
    pagerduty.delete_service(hidden.pd_service_id)
    HidingClient.hidden = ""  # no longer there to hide
    PagerDutyService.objects.filter(pk=hidden.pk).update(refused_at=None, refused_detail="")
    assert service_check.check_account(account) == 1
    hidden.refresh_from_db()
    assert hidden.refused_detail == paths.SERVICE_DELETED
    assert unmarked(connected_service)


def test_a_service_marked_deleted_that_pagerduty_lists_again_is_unmarked(
    org: Organization, connected_service: PagerDutyService, pagerduty: Any, admin_client: Any
) -> None:
    account = connected_service.account
    assert account is not None
    others = [
        s for s in AccountApi(account).services() if s["id"] != connected_service.pd_service_id
    ]
    second, key_refused = (connect_service(account, s, pagerduty) for s in others[:2])
    since = timezone.now() - timedelta(hours=3)
    # As an earlier read (or the code before this check) left them.
    PagerDutyService.objects.filter(pk__in=[connected_service.pk, second.pk]).update(
        refused_at=since, refused_detail=paths.SERVICE_DELETED
    )
    PagerDutyService.objects.filter(pk=key_refused.pk).update(
        refused_at=since, refused_detail="Invalid routing key"
    )
    pagerduty.remove_integration(second.integration_id)
    problems_now(org)
    dashboard = _words(admin_client.get(f"/o/{org.slug}/").content.decode())
    assert "Checkout API 001 was deleted in PagerDuty" in dashboard

    page = _picker(admin_client, account)

    assert "deleted in PagerDuty" not in page  # the banner on this very page, too
    assert unmarked(connected_service)
    second.refresh_from_db()  # listed without our integration: that is what it says now
    assert second.refused_detail == paths.INTEGRATION_REMOVED and second.refused_at == since
    key_refused.refresh_from_db()  # a refused key is not the list's to clear
    assert key_refused.refused_detail == "Invalid routing key"
    dashboard = _words(admin_client.get(f"/o/{org.slug}/").content.decode())
    assert "deleted in PagerDuty" not in dashboard
    integrations = _words(
        admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    )
    assert "Deleted in PagerDuty" not in integrations
    assert "Tripwire's integration was removed from it in PagerDuty" in integrations
