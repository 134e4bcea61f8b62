"""A paging problem is someone's own doing, and not emailed to them, only when their own
request touched its alert, service or account: what an API token, a colleague, or nobody
in particular did meanwhile reaches every owner and admin, whoever's request happened to
bring the rows up to date first, and a page that only reads credits no one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from alerts_saas.ingest.models import ApiToken, Scope
from alerts_saas.notices.models import PagingProblem
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty.models import PagerDutyService
from tests.api_client import Api
from tests.notices.conftest import ADMIN, HOLD, OWNER

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("held")]


@pytest.fixture
def api(org: Organization) -> Api:
    """A tool's read-and-write API token."""
    _token, secret = ApiToken.issue(org, "deploy tool", scope=Scope.WRITE)
    return Api(secret)


@pytest.fixture
def service(org: Organization) -> PagerDutyService:
    return PagerDutyService.objects.create(
        organization=org, name="Checkout", region="us", integration_key="a" * 32
    )


def _to(address: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.to == [address]]


def _after_hold(org: Organization) -> None:
    """The queued run, once the hold is over (beat's, in these tests)."""
    reconcile(org, now=timezone.now() + timedelta(seconds=HOLD + 1))


def _other_alert(org: Organization, service: PagerDutyService) -> Alert:
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    alert.targets.add(service)
    return alert


def _told_edge_pages_nobody(org: Organization) -> Alert:
    """An enabled alert with no service, every owner and admin already told."""
    edge = Alert.objects.create(organization=org, name="Edge heartbeat", threshold=1)
    reconcile(org)  # seen now, emailed once the hold is over
    _after_hold(org)
    assert [m.subject for m in mail.outbox] == [
        "[Tripwire] Paging broken in Acme Ops: Edge heartbeat pages nobody"
    ] * 2
    mail.outbox.clear()
    return edge


def test_a_problem_a_token_made_is_emailed_to_the_owner_whose_request_came_next(
    org, api, service, admin_client, admin
):
    """A tool enables an alert with no service; before the queued check runs, the owner
    disables another alert in the app. The alert paging nobody is not her doing: she is
    emailed about it, as the admin is."""
    other = _other_alert(org, service)
    edge = Alert.objects.create(organization=org, name="Edge heartbeat", threshold=1, enabled=False)
    api.post(f"/alerts/{edge.pk}/enable", {}, status=200)
    assert not PagingProblem.objects.exists()  # its check is queued, not run yet

    toggled = admin_client.post(f"/o/{org.slug}/alerts/{other.pk}/toggle/", {"enabled": "0"})
    assert toggled.status_code == 302
    _after_hold(org)

    for address in (OWNER, ADMIN):
        [email] = _to(address)
        assert "Edge heartbeat pages nobody" in email.subject


def test_a_fix_a_token_made_is_emailed_to_the_owner_whose_request_came_next(
    org, api, service, admin_client, admin
):
    """A tool disables the alert that paged nobody; the owner's unrelated change is what
    first sees it mended. The fix is not hers: she gets the all-clear too."""
    other = _other_alert(org, service)
    edge = _told_edge_pages_nobody(org)
    api.post(f"/alerts/{edge.pk}/disable", {}, status=200)

    toggled = admin_client.post(f"/o/{org.slug}/alerts/{other.pk}/toggle/", {"enabled": "0"})
    assert toggled.status_code == 302
    assert PagingProblem.objects.get().resolved_at is not None  # closed in her request
    _after_hold(org)

    for address in (OWNER, ADMIN):
        [email] = _to(address)
        assert email.subject == "[Tripwire] Fixed in Acme Ops: Edge heartbeat pages nobody"
        assert "The alert was disabled: it pages nobody on purpose." in email.body


def test_her_own_fix_is_still_hers(org, service, admin_client, admin):
    """What her request did touch stays hers: she disables the alert herself, and only the
    admin is told it is fixed."""
    edge = _told_edge_pages_nobody(org)

    toggled = admin_client.post(f"/o/{org.slug}/alerts/{edge.pk}/toggle/", {"enabled": "0"})
    assert toggled.status_code == 302
    _after_hold(org)

    assert _to(OWNER) == []
    [email] = _to(ADMIN)
    assert "The alert was disabled: it pages nobody on purpose." in email.body


def test_a_page_that_only_reads_credits_its_viewer_with_nothing(
    org, api, admin_client, admin, connected_service, pagerduty
):
    """A tool disables the alert that paged nobody; the owner then opens Add services for
    an account whose access PagerDuty withdrew, a page that brings the rows up to date for
    its banner. Looking mended nothing: she gets the all-clear too."""
    edge = _told_edge_pages_nobody(org)
    api.post(f"/alerts/{edge.pk}/disable", {}, status=200)
    account = connected_service.account
    pagerduty.revoke_tokens(all=True)
    picker = f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"

    assert admin_client.get(picker).status_code == 200
    assert PagingProblem.objects.get(key=f"nobody:alert:{edge.pk}").resolved_at is not None
    _after_hold(org)

    for address in (OWNER, ADMIN):
        fixed = [m for m in _to(address) if "The alert was disabled" in m.body]
        assert len(fixed) == 1, [m.subject for m in _to(address)]
