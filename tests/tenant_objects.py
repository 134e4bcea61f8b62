"""One object of each tenant model, for the tenant-isolation test.

The isolation test fills URL kwargs named `<model>_id` (e.g. `membership_id`, or
`pagerduty_service_id` for PagerDutyService) with the id of the first organization's object.
A new tenant model needs a maker here; the test fails and says so when one is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db import models
from django.utils import timezone

from alerts_saas.accounts.models import FormerSlug, Invitation, Membership, Organization, Role, User
from alerts_saas.alerts.models import Alert, Firing, MuteWindow
from alerts_saas.ingest.models import ApiToken, IngestKey, Scope
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, PagerDutyAccount, PagerDutyService

Maker = Callable[[Organization, User], models.Model]


def _membership(org: Organization, owner: User) -> models.Model:
    user = User.objects.create_user(email=f"member-of-{org.slug}@example.com")
    return Membership.objects.create(organization=org, user=user, role=Role.MEMBER)


def _invitation(org: Organization, owner: User) -> models.Model:
    invitation, _ = Invitation.issue(org, f"invitee-of-{org.slug}@example.com", Role.MEMBER, owner)
    return invitation


def _pd_account(org: Organization, owner: User) -> models.Model:
    return PagerDutyAccount.objects.create(
        organization=org,
        pd_account_id=f"PACC{org.pk}",
        subdomain=f"sub-{org.slug}",
        name=f"PD of {org.name}",
        region="us",
        access_token="at",
        refresh_token="rt",
        expires_at=timezone.now() + timedelta(days=30),
        scope="write",
        connected_by=owner,
    )


def _pd_service(org: Organization, owner: User) -> models.Model:
    account = PagerDutyAccount.objects.filter(organization=org).first() or _pd_account(org, owner)
    return PagerDutyService.objects.create(
        organization=org,
        account=account,
        pd_service_id=f"PSVC{org.pk}",
        name="Checkout",
        integration_id="PINT001",
        integration_key="0" * 32,
        created_integration=True,
    )


def _delivery(org: Organization, owner: User) -> models.Model:
    service = PagerDutyService.objects.filter(organization=org).first() or _pd_service(org, owner)
    return Delivery.objects.create(
        organization=org,
        service=service,
        service_name=service.name,
        region="us",
        routing_key=service.integration_key,
        event_action="trigger",
        dedup_key="k",
        body={"event_action": "trigger"},
        is_test=True,
        status=Delivery.Status.DELIVERED,
    )


def _incident(org: Organization, owner: User) -> models.Model:
    trigger = Delivery.objects.filter(organization=org).first() or _delivery(org, owner)
    assert isinstance(trigger, Delivery)
    return Incident.objects.create(
        organization=org,
        service_id=trigger.service_id,
        pd_incident_id=f"PINC{org.pk}",
        dedup_key=trigger.dedup_key,
        status="triggered",
        status_changed_at=timezone.now(),
    )


def _alert(org: Organization, owner: User) -> models.Model:
    alert = Alert.objects.create(organization=org, name=f"Alert of {org.slug}")
    service = PagerDutyService.objects.filter(organization=org).first() or _pd_service(org, owner)
    alert.targets.add(service)
    return alert


def _ingest_key(org: Organization, owner: User) -> models.Model:
    key, _secret = IngestKey.issue(org, f"Key of {org.slug}", owner)
    return key


def _api_token(org: Organization, owner: User) -> models.Model:
    token, _secret = ApiToken.issue(org, f"Token of {org.slug}", owner, scope=Scope.WRITE)
    return token


def _firing(org: Organization, owner: User) -> models.Model:
    alert = Alert.objects.filter(organization=org).first() or _alert(org, owner)
    assert isinstance(alert, Alert)
    return Firing.objects.create(
        organization=org, alert=alert, count_at_open=3, cleared_at=timezone.now()
    )


def _former_slug(org: Organization, owner: User) -> models.Model:
    return FormerSlug.objects.create(organization=org, slug=f"{org.slug}-before")


def _mute_window(org: Organization, owner: User) -> models.Model:
    alert = Alert.objects.filter(organization=org).first() or _alert(org, owner)
    now = timezone.now()
    return MuteWindow.objects.create(
        organization=org, alert=alert, starts_at=now, ends_at=now + timedelta(hours=1)
    )


MAKERS: dict[str, Maker] = {
    "accounts.membership": _membership,
    "accounts.invitation": _invitation,
    "pagerduty.pagerdutyaccount": _pd_account,
    "pagerduty.pagerdutyservice": _pd_service,
    "pagerduty.delivery": _delivery,
    "pagerduty_incidents.incident": _incident,
    "alerts.alert": _alert,
    "ingest.ingestkey": _ingest_key,
    "ingest.apitoken": _api_token,
    "alerts.firing": _firing,
    "alerts.mutewindow": _mute_window,
    "accounts.formerslug": _former_slug,
}


def populate(org: Organization, owner: User) -> dict[str, models.Model]:
    """Create one object of every registered tenant model; return them by model name."""
    return {label.split(".")[1]: make(org, owner) for label, make in MAKERS.items()}
