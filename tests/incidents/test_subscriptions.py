"""Our webhook subscription on each OAuth service, against the sandbox: made once however
often the service is connected, mended by beat when PagerDuty disabled or lost it, its
failure said in words on the integrations page, and deleted with the service."""

from __future__ import annotations

import pytest

from integrations.pagerduty.incidents import subscriptions
from integrations.pagerduty.incidents.models import WebhookSubscription
from integrations.pagerduty.rest import AccountApi
from tests.incidents.test_unsubscriptions import run_queued
from tests.pagerduty.test_removal import delete_url, disconnect_url

pytestmark = pytest.mark.django_db


def _remote(pagerduty, row: WebhookSubscription) -> dict | None:
    found = [s for s in pagerduty.webhook_subscriptions() if s["id"] == row.pd_subscription_id]
    return found[0] if found else None


@pytest.fixture
def row(connected_service, settings) -> WebhookSubscription:
    settings.SITE_URL = "http://tripwire.example"
    made = subscriptions.subscribe(connected_service)
    assert made is not None and made.pd_subscription_id
    return made


def test_subscribing_again_makes_no_second_subscription(row, connected_service, pagerduty):
    again = subscriptions.subscribe(connected_service)
    assert again is not None and again.pk == row.pk
    assert again.pd_subscription_id == row.pd_subscription_id
    assert [s["id"] for s in pagerduty.webhook_subscriptions()] == [row.pd_subscription_id]
    assert row.url == f"http://tripwire.example/integrations/pagerduty/webhooks/{row.token}"


def test_beat_enables_a_subscription_pagerduty_disabled(row, pagerduty):
    pagerduty.disable_webhook_subscription(row.pd_subscription_id)
    assert _remote(pagerduty, row)["active"] is False
    assert subscriptions.check_all() == 0
    assert _remote(pagerduty, row)["active"] is True


def test_beat_makes_a_lost_subscription_anew(row, connected_service, pagerduty):
    AccountApi(connected_service.account).delete_webhook_subscription(row.pd_subscription_id)
    subscriptions.check_all()
    row.refresh_from_db()
    remote = _remote(pagerduty, row)
    assert remote is not None and row.secret in remote["secrets"]
    assert len(pagerduty.webhook_subscriptions()) == 1


def test_a_failed_subscription_is_said_on_the_integrations_page(
    connected_service, pagerduty, admin_client, org
):
    pagerduty.fault("rest-us", "500", count=10)
    row = subscriptions.subscribe(connected_service)
    pagerduty.clear_faults()
    assert row is not None and not row.active and not row.pd_subscription_id
    assert row.problem.startswith("PagerDuty did not take our subscription:")
    page = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert "Incident updates off" in page and row.problem in page
    assert subscriptions.check_all() == 0  # beat tries again, and it works now
    row.refresh_from_db()
    assert row.active and row.pd_subscription_id and _remote(pagerduty, row)
    page = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    assert "Incident updates off" not in page


def test_a_pasted_key_has_no_subscription(make_service):
    assert subscriptions.subscribe(make_service()) is None
    assert not WebhookSubscription.objects.exists()


def test_deleting_the_service_deletes_its_subscription(
    row, connected_service, pagerduty, admin_client, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(delete_url(org, connected_service), {"seen": ""})
    assert response.status_code == 302
    assert run_queued() == ["done"]  # a worker deletes it once the removal commits
    assert not WebhookSubscription.objects.exists()
    assert pagerduty.webhook_subscriptions() == []


def test_disconnecting_deletes_its_subscriptions(
    row, connected_service, pagerduty, admin_client, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(disconnect_url(org, connected_service.account), {"seen": ""})
    assert response.status_code == 302
    assert run_queued() == ["done"]  # a worker deletes it once the removal commits
    assert pagerduty.webhook_subscriptions() == []


def test_the_admin_never_shows_the_signing_secret(row, client, make_user) -> None:
    staff = make_user("staff@tripwire.example")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    base = "/admin/pagerduty_incidents/webhooksubscription/"
    for url in (base, f"{base}{row.pk}/change/"):
        page = client.get(url)
        assert page.status_code == 200
        assert row.secret not in page.content.decode()


def test_a_subscription_made_without_its_secret_is_not_kept(
    connected_service, pagerduty, monkeypatch
):
    """A webhook checked against an empty secret is one anyone can sign: a subscription
    PagerDuty made without sending its secret is deleted again and said, and beat makes
    one with a secret."""
    made = AccountApi.create_webhook_subscription

    def without_secret(api, *args, **kwargs):
        answer = made(api, *args, **kwargs)
        answer.get("delivery_method", {}).pop("secret", None)
        return answer

    monkeypatch.setattr(AccountApi, "create_webhook_subscription", without_secret)
    row = subscriptions.subscribe(connected_service)
    assert row is not None and not row.active and row.problem == subscriptions.UNSIGNED_PROBLEM
    assert (row.pd_subscription_id, row.secret) == ("", "")
    assert pagerduty.webhook_subscriptions() == []
    monkeypatch.undo()
    assert subscriptions.check_all() == 0
    row.refresh_from_db()
    assert row.active and row.secret and row.secret in _remote(pagerduty, row)["secrets"]


def test_beat_replaces_a_subscription_kept_without_its_secret(row, pagerduty):
    old = row.pd_subscription_id
    WebhookSubscription.objects.filter(pk=row.pk).update(secret="")
    assert subscriptions.check_all() == 0
    row.refresh_from_db()
    assert row.secret and row.pd_subscription_id != old
    assert [s["id"] for s in pagerduty.webhook_subscriptions()] == [row.pd_subscription_id]
