"""Every kind of change is recorded: who, from where, what, and before → after; never a
secret's value. The changes are made through the product's own pages, as people make them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Invitation, Membership
from alerts_saas.accounts.tasks import purge_stale_invitations
from alerts_saas.alerts.models import Alert
from alerts_saas.audit.models import Action, Entry
from alerts_saas.audit.words import describe
from integrations.pagerduty.models import PagerDutyAccount
from tests.audit.conftest import AGENT, PASTED_KEY, assert_no_secrets, only, paste, words

pytestmark = pytest.mark.django_db


def alert_form(targets: list[int], **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Checkout errors",
        "description": "",
        "severity": "critical",
        "summary_template": "{alert}: {count} errors in {window} ({org})",
        "source": "checkout-api",
        "component": "payments",
        "group": "prod",
        "event_class": "",
        "kind": "presence",
        "match_app": "checkout",
        "threshold": "5",
        "window_minutes": "5",
        "targets": [str(t) for t in targets],
        "details-TOTAL_FORMS": "1",
        "details-INITIAL_FORMS": "0",
        "details-MIN_NUM_FORMS": "0",
        "details-MAX_NUM_FORMS": "50",
        "details-0-key": "runbook",
        "details-0-value": "https://wiki.example/checkout",
    }
    data.update(overrides)
    return data


def edit_form(alert: Alert, targets: list[int], **overrides: object) -> dict[str, object]:
    detail = alert.details.get()
    return alert_form(
        targets,
        **{
            "details-INITIAL_FORMS": "1",
            "details-0-id": str(detail.pk),
            "details-0-alert": str(alert.pk),
            **overrides,
        },
    )


def test_an_alert_created_edited_disabled_and_deleted_reads_in_words(owner_client, org):
    ops = paste(owner_client, org, "Ops", PASTED_KEY)
    web = paste(owner_client, org, "Web", "f" * 32)
    base = f"/o/{org.slug}/alerts"

    response = owner_client.post(f"{base}/new/", alert_form([ops.pk]))
    assert response.status_code == 302, response.content.decode()[:3000]
    alert = Alert.objects.get(organization=org)
    created = only(org, object_type="alert", action=Action.CREATED)
    assert created.actor_label == "owner@acme.example"
    assert created.actor_user == org.memberships.get().user
    assert created.ip == "203.0.113.7"
    assert created.user_agent == AGENT[:200]
    assert (created.object_id, created.object_name) == (str(alert.pk), "Checkout errors")
    # Its services and custom detail are part of the one entry.
    assert words(created) == (
        "owner@acme.example created alert “Checkout errors”: PagerDuty services: added Ops, "
        "custom detail “runbook”: https://wiki.example/checkout"
    )

    response = owner_client.post(
        f"{base}/{alert.pk}/edit/",
        edit_form(
            alert,
            [web.pk],
            threshold="10",
            window_minutes="10",
            **{"details-0-value": "https://wiki.example/v2"},
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    changed = only(org, object_type="alert", action=Action.CHANGED)
    assert words(changed) == (
        "owner@acme.example changed alert “Checkout errors”: threshold 5 → 10, "
        "window 5 min → 10 min, PagerDuty services: added Web; removed Ops, "
        "custom detail “runbook” https://wiki.example/checkout → https://wiki.example/v2"
    )

    owner_client.post(f"{base}/{alert.pk}/toggle/", {"enabled": "0"})
    disabled = only(org, object_type="alert", action=Action.DISABLED)
    assert words(disabled) == "owner@acme.example disabled alert “Checkout errors”"
    owner_client.post(f"{base}/{alert.pk}/toggle/", {"enabled": "1"})
    assert words(only(org, action=Action.ENABLED)).endswith("enabled alert “Checkout errors”")

    # Saving without a change records nothing.
    before = Entry.objects.count()
    owner_client.post(
        f"{base}/{alert.pk}/edit/",
        edit_form(
            Alert.objects.get(),
            [web.pk],
            threshold="10",
            window_minutes="10",
            **{"details-0-value": "https://wiki.example/v2"},
        ),
    )
    assert Entry.objects.count() == before

    response = owner_client.post(f"{base}/{alert.pk}/delete/")
    assert response.status_code == 302
    deleted = only(org, object_type="alert", action=Action.DELETED)
    assert words(deleted) == "owner@acme.example deleted alert “Checkout errors”"
    # Its custom detail went with it: no entry of its own.
    assert Entry.objects.count() == before + 1


def test_custom_details_added_renamed_and_removed(owner_client, org):
    base = f"/o/{org.slug}/alerts"
    ops = paste(owner_client, org, "Ops")
    response = owner_client.post(f"{base}/new/", alert_form([ops.pk]))
    assert response.status_code == 302, response.content.decode()[:3000]
    alert = Alert.objects.get()
    Entry.objects.all().delete()
    data = edit_form(
        alert,
        [ops.pk],
        **{
            "details-TOTAL_FORMS": "2",
            "details-0-key": "playbook",
            "details-1-key": "team",
            "details-1-value": "payments",
        },
    )
    assert owner_client.post(f"{base}/{alert.pk}/edit/", data).status_code == 302
    entry = only(org, object_type="alert")
    assert describe(entry).changes == (
        "custom detail “runbook” cleared (was https://wiki.example/checkout)",
        "custom detail “playbook” set to https://wiki.example/checkout",
        "custom detail “team” set to payments",
    )


def test_pagerduty_services_pasted_fallback_and_removed(owner_client, org):
    ops = paste(owner_client, org, "Ops")
    entry = only(org, object_type="pagerduty_service")
    assert words(entry) == "owner@acme.example connected PagerDuty service “Ops”"

    url = f"/o/{org.slug}/settings/integrations/pagerduty/services/{{}}/fallback/"
    owner_client.post(url.format(ops.pk), {"use": "1"})
    on = only(org, object_type="pagerduty_service", action=Action.CHANGED)
    assert (
        words(on) == "owner@acme.example changed PagerDuty service “Ops”: fallback service off → on"
    )
    # Making another the fallback records both sides.
    web = paste(owner_client, org, "Web", "e" * 32)
    Entry.objects.all().delete()
    owner_client.post(url.format(web.pk), {"use": "1"})
    assert sorted(words(e) for e in Entry.objects.filter(organization=org)) == [
        "owner@acme.example changed PagerDuty service “Ops”: fallback service on → off",
        "owner@acme.example changed PagerDuty service “Web”: fallback service off → on",
    ]

    response = owner_client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/services/{ops.pk}/delete/", {"seen": ""}
    )
    assert response.status_code == 302
    removed = only(org, object_type="pagerduty_service", action=Action.DELETED)
    assert words(removed) == "owner@acme.example removed PagerDuty service “Ops”"


def test_an_account_connected_and_disconnected(owner_client, connect, org, pagerduty):
    account = connect(owner_client)
    services = [s["id"] for s in pagerduty.account("us")["services"][:2]]
    owner_client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/",
        {"service": services},
    )
    connected = only(org, object_type="pagerduty_account", action=Action.CREATED)
    assert words(connected) == f"owner@acme.example connected PagerDuty account “{account.name}”"
    assert Entry.objects.filter(object_type="pagerduty_service", action=Action.CREATED).count() == 2

    # Connecting again (new tokens) says the tokens changed, never what they are.
    connect(owner_client)
    again = only(org, object_type="pagerduty_account", action=Action.CHANGED)
    assert describe(again).changes == ("access token changed", "refresh token changed")

    response = owner_client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/disconnect/",
        {"seen": ""},
    )
    assert response.status_code == 302
    assert not PagerDutyAccount.objects.filter(pk=account.pk).exists()
    gone = only(org, object_type="pagerduty_account", action=Action.DELETED)
    assert words(gone) == f"owner@acme.example disconnected PagerDuty account “{account.name}”"
    assert Entry.objects.filter(object_type="pagerduty_service", action=Action.DELETED).count() == 2
    assert_no_secrets(org, [account.access_token, account.refresh_token])


def test_members_invited_joined_promoted_and_removed(owner_client, org, make_user, mailoutbox):
    members = f"/o/{org.slug}/settings/members"
    response = owner_client.post(
        f"{members}/invite/", {"email": "new@acme.example", "role": "member"}
    )
    assert response.status_code == 302
    invited = only(org, object_type="invitation", action=Action.CREATED)
    assert words(invited) == "owner@acme.example invited “new@acme.example”: role: Member"
    token = re.search(r"/invitations/([\w-]+)/", mailoutbox[-1].body).group(1)

    newcomer = Client(REMOTE_ADDR="198.51.100.4")
    newcomer.force_login(make_user("new@acme.example"))
    assert newcomer.post(f"/invitations/{token}/").status_code == 302
    accepted = only(org, object_type="invitation", action=Action.ACCEPTED)
    assert words(accepted) == "new@acme.example accepted the invitation sent to “new@acme.example”"
    assert accepted.ip == "198.51.100.4"
    joined = only(org, object_type="member", action=Action.CREATED)
    assert words(joined) == "new@acme.example joined the organization: role: Member"

    membership = Membership.objects.get(organization=org, user__email="new@acme.example")
    owner_client.post(f"{members}/{membership.pk}/role/", {"role": "admin"})
    promoted = only(org, object_type="member", action=Action.CHANGED)
    assert (
        words(promoted)
        == "owner@acme.example changed member “new@acme.example”: role Member → Admin"
    )

    owner_client.post(f"{members}/{membership.pk}/remove/")
    removed = only(org, object_type="member", action=Action.DELETED)
    assert words(removed) == "owner@acme.example removed member “new@acme.example”"

    owner_client.post(f"{members}/invite/", {"email": "late@acme.example", "role": "admin"})
    invitation = Invitation.objects.get(email="late@acme.example")
    owner_client.post(f"/o/{org.slug}/settings/invitations/{invitation.pk}/revoke/")
    withdrawn = only(org, object_type="invitation", action=Action.REVOKED)
    assert words(withdrawn) == "owner@acme.example withdrew the invitation of “late@acme.example”"
    assert_no_secrets(org, [token, invitation.token_hash])


def test_organization_name_and_url_name(owner_client, org):
    response = owner_client.post(
        f"/o/{org.slug}/settings/", {"name": "Acme SRE", "slug": "acme-sre"}
    )
    assert response.status_code == 302
    entry = only(org, object_type="organization", action=Action.CHANGED)
    assert words(entry) == (
        "owner@acme.example changed organization “Acme SRE”: name “Acme Ops” → “Acme SRE”, "
        "URL name acme-ops → acme-sre"
    )


def test_changes_outside_any_request_are_the_systems(org):
    Alert.objects.create(organization=org, name="Seeded", match_app="seed")
    entry = only(org, object_type="alert")
    assert (entry.actor_kind, entry.actor_label, entry.ip) == ("system", "system", None)


def test_an_organization_can_still_be_deleted(owner_client, org):
    paste(owner_client, org, "Ops")
    Alert.objects.create(organization=org, name="Seeded", match_app="seed")
    org.delete()
    assert not Entry.objects.exists()


def test_no_secret_value_in_any_entry(owner_client, org):
    ops = paste(owner_client, org, "Ops")
    # A key changed by hand (the admin, a shell) is recorded as changed, without values.
    ops.integration_key = "a" * 32
    ops.save()
    entry = only(org, object_type="pagerduty_service", action=Action.CHANGED)
    assert describe(entry).changes == ("integration key changed",)
    assert entry.changes == [{"field": "integration key", "secret": True}]
    assert_no_secrets(org, [PASTED_KEY, "a" * 32])


def test_beat_purging_ended_invitations_is_not_activity(org):
    invitation, _token = Invitation.issue(org, "late@acme.example", "member", None)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(days=31)
    )
    Entry.objects.all().delete()
    assert purge_stale_invitations() == 1
    assert not Entry.objects.exists()


@pytest.mark.parametrize(
    ("proxies", "seen"), [(0, "10.0.0.1"), (1, "198.51.100.20"), (2, "192.0.2.66")]
)
def test_the_address_is_the_one_our_proxies_added(owner_client, org, settings, proxies, seen):
    """Behind ALLAUTH_TRUSTED_PROXY_COUNT proxies the client is the hop they added to
    X-Forwarded-For, as allauth's sign-in limits read it; without any, the peer."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = proxies
    owner_client.post(
        f"/o/{org.slug}/settings/",
        {"name": "Acme SRE", "slug": org.slug},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="192.0.2.66, 198.51.100.20",
    )
    assert only(org, object_type="organization", action=Action.CHANGED).ip == seen
