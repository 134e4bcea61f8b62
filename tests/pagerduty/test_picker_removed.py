"""The service picker reads, in PagerDuty's list of services (`include[]=integrations`),
whether the integration Tripwire saved for each connected service is still on it: a service
listed without it is marked refused, as a refused page would mark it, and its row says so."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from typing import Any

import httpx2
import pytest
from django.utils import timezone
from pagerduty import RestApiV2Client

from alerts_saas.accounts.models import Organization
from integrations.pagerduty import paths, picker
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.rest import INTEGRATION_TYPE, AccountApi

pytestmark = pytest.mark.django_db

API = "https://api.pagerduty.com"


class AnsweredClient(RestApiV2Client):
    """The official client on PagerDuty's real host, answered here. (It is built on httpx2,
    which `responses` does not see: httpx2's MockTransport stands in for the network.)"""

    answer: dict[str, Any] = {}
    requests: list[httpx2.Request] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, transport=httpx2.MockTransport(self._answer), **kwargs)

    @classmethod
    def _answer(cls, request: httpx2.Request) -> httpx2.Response:
        cls.requests.append(request)
        # As a stream, as the network's are: the client times the response once it is read.
        body = httpx2.ByteStream(json.dumps(cls.answer).encode())
        return httpx2.Response(200, headers={"Content-Type": "application/json"}, stream=body)


@pytest.fixture
def rest_api(settings: Any) -> type[AnsweredClient]:
    settings.PAGERDUTY_REST_CLIENT = f"{__name__}.AnsweredClient"
    settings.PAGERDUTY_REGIONS = {
        **settings.PAGERDUTY_REGIONS,
        "us": {**settings.PAGERDUTY_REGIONS["us"], "rest_url": API},
    }
    AnsweredClient.requests = []
    return AnsweredClient


@pytest.fixture
def account(org: Organization) -> PagerDutyAccount:
    return PagerDutyAccount.objects.create(
        organization=org,
        pd_account_id="PACCT01",
        subdomain="acme",
        name="acme",
        region="us",
        access_token="access",
        refresh_token="refresh",
        expires_at=timezone.now() + timedelta(days=1),
        scope="write",
        connected_by=org.memberships.get().user,
    )


def _saved(account: PagerDutyAccount, pd_id: str, integration_id: str) -> PagerDutyService:
    return PagerDutyService.objects.create(
        organization=account.organization,
        account=account,
        pd_service_id=pd_id,
        name=pd_id,
        integration_id=integration_id,
        integration_key=pd_id.ljust(32, "0"),
        created_integration=True,
    )


def _service(pd_id: str, name: str, integration_ids: list[str] | None) -> dict[str, Any]:
    service: dict[str, Any] = {"id": pd_id, "type": "service", "name": name, "teams": []}
    if integration_ids is not None:
        service["integrations"] = [
            {"id": i, "type": INTEGRATION_TYPE, "name": "x"} for i in integration_ids
        ]
    return service


def test_a_service_listed_without_its_integration_is_marked_removed(
    rest_api: type[AnsweredClient], account: PagerDutyAccount
) -> None:
    kept = _saved(account, "PKEPT", "PINTKEPT")
    gone = _saved(account, "PGONE", "PINTGONE")
    unlisted = _saved(account, "PNOINT", "PINTNO")  # listed without its integrations: unknown
    before = timezone.now() - timedelta(hours=2)
    # Already refused by a page: its time stays, and PagerDuty's words give way to what the
    # list explains (the integration removed: choose it again under "Add services").
    old = _saved(account, "POLD", "PINTOLD")
    PagerDutyService.objects.filter(pk=old.pk).update(
        refused_at=before, refused_detail="Invalid routing key"
    )
    rest_api.answer = {
        "services": [
            _service("PKEPT", "Kept", ["PINTKEPT"]),
            _service("PGONE", "Gone", ["PSOMEONE"]),  # someone else's integration only
            _service("PNOINT", "No integrations listed", None),
            _service("POLD", "Old", []),
            _service("PNEW", "Never connected", []),
        ],
        "limit": 100,
        "offset": 0,
        "more": False,
        "total": None,
    }

    services = AccountApi(account).services()
    assert picker.mark_removed(account, services) == 2
    rows = {row.id: row for row in picker.rows_of(account, services, set())}

    # One call, asking for the integrations.
    [call] = rest_api.requests
    assert call.url.path == "/services"
    assert call.url.params.get_list("include[]") == ["integrations"]

    gone.refresh_from_db()
    assert gone.refused_at is not None and gone.refused_detail == paths.INTEGRATION_REMOVED
    health = paths.service_health(
        PagerDutyService.objects.select_related("account").get(pk=gone.pk)
    )
    assert health.state == paths.PathState.REFUSED
    assert health.cause.startswith("Tripwire's integration was removed from it in PagerDuty")
    assert rows["PGONE"].removed and not rows["PGONE"].connected

    old.refresh_from_db()
    assert old.refused_at == before and old.refused_detail == paths.INTEGRATION_REMOVED
    assert rows["POLD"].removed and not rows["POLD"].connected

    for service in (kept, unlisted):
        service.refresh_from_db()
        assert service.refused_at is None
    assert rows["PKEPT"].connected and not rows["PKEPT"].removed
    assert rows["PNOINT"].connected and not rows["PNOINT"].removed
    assert not rows["PNEW"].connected and not rows["PNEW"].removed

    # Seen again, nothing is marked twice.
    assert picker.mark_removed(account, services) == 0


def _row(page: str, pd_id: str) -> str:
    """The picker's row for the service, as HTML (its checkbox and its words)."""
    match = re.search(rf'<li>\s*<label>\s*<input[^>]*value="{pd_id}".*?</li>', page, re.S)
    assert match, f"no row for {pd_id}"
    return match.group(0)


def _words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_an_integration_removed_in_the_sandbox_is_said_and_connected_again(
    org: Organization, connected_service: PagerDutyService, pagerduty: Any, admin_client: Any
) -> None:
    picker_url = (
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/"
        f"{connected_service.account_id}/services/"
    )
    pd_id, old_integration = connected_service.pd_service_id, connected_service.integration_id

    def rest_calls() -> int:
        return len(pagerduty.requests_log("rest-us"))

    before = rest_calls()
    row = _row(admin_client.get(picker_url).content.decode(), pd_id)
    calls_per_page = rest_calls() - before
    assert "Connected" in _words(row) and "disabled" in row

    pagerduty.remove_integration(old_integration)
    before = rest_calls()
    page = admin_client.get(picker_url).content.decode()
    assert rest_calls() - before == calls_per_page  # no call per service
    row = _row(page, pd_id)
    assert "Integration removed in PagerDuty" in _words(row)
    assert "tick it to connect it again with a new integration" in _words(row)
    assert "Connected" not in _words(row) and "disabled" not in row
    # Marked refused as a refused page would be: the banner and Integrations say so.
    assert "Paging problem:</strong> PagerDuty refuses Checkout API 001" in page
    integrations = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert "Tripwire's integration was removed from it in PagerDuty" in _words(integrations)

    response = admin_client.post(picker_url, {"service": [pd_id]}, follow=True)
    assert "Connected Checkout API 001." in response.content.decode()
    service = PagerDutyService.objects.select_related("account").get(pk=connected_service.pk)
    assert service.integration_id != old_integration and service.refused_at is None
    assert paths.service_health(service).ok
    listed = next(
        s for s in pagerduty.account("us")["services"] if s["id"] == pd_id
    )  # the sandbox has the new integration on the service
    assert service.integration_id in str(listed)

    page = admin_client.get(picker_url).content.decode()
    row = _row(page, pd_id)
    assert "Connected" in _words(row) and "disabled" in row
    assert "Integration removed" not in _words(row)
    assert "Paging problem" not in page
