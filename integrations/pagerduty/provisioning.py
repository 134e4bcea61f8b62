"""Provisioning what a connect flow chose: the PagerDuty account (with its tokens) and, on
each chosen service, our Events API v2 integration (created, or reused when it is ours)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from alerts_saas.accounts.models import Organization, User
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.oauth import Grant
from integrations.pagerduty.rest import INTEGRATION_TYPE, AccountApi, PagerDutyApiError
from integrations.pagerduty.signals import services_connected


def integration_name(organization: Organization) -> str:
    """The name of the Events API v2 integration we create on each chosen service, as
    people read it in PagerDuty: the product and the organization, no internal ids."""
    return f"{settings.PRODUCT_NAME} ({organization.name})"


def our_integration_ids(organization: Organization) -> frozenset[str]:
    """The ids of the integrations we created for the organization's connected services.

    Names are for people (two organizations may share one), so our integrations are
    recognised by the ids we stored. One query, for a whole list of services.
    """
    return frozenset(
        PagerDutyService.objects.filter(organization=organization, created_integration=True)
        .exclude(integration_id="")
        .values_list("integration_id", flat=True)
    )


def reconnects(organization: Organization, grant: Grant) -> bool:
    """Whether the grant mends an account that needed reconnecting and already has services:
    nothing more to choose (the callback goes back to Integrations, not the picker)."""
    return PagerDutyAccount.objects.filter(
        organization=organization,
        pd_account_id=grant.account_id or grant.subdomain,
        status=PagerDutyAccount.Status.NEEDS_RECONNECT,
        services__isnull=False,
    ).exists()


def save_account(organization: Organization, user: User, grant: Grant) -> PagerDutyAccount:
    """Store (or reconnect) the account the grant is for, with its tokens.

    New tokens bump `token_version`, as a refresh does: a refresh under way with the old
    refresh token then finds the account changed, so it neither marks the new grant to
    reconnect when PagerDuty refuses the old token nor overwrites it when it succeeds
    (`tokens.refresh_tokens`' compare-and-set). The row is locked while it is written.
    PagerDuty's id_token names the account by its subdomain; that is the name we show.
    """
    subdomain = grant.subdomain
    name = str(grant.claims.get("account_name") or subdomain)
    now = timezone.now()
    values: dict[str, Any] = {
        "subdomain": subdomain,
        "name": name,
        "region": grant.region,
        "pd_user_id": grant.user_id,
        "access_token": grant.access_token,
        "refresh_token": grant.refresh_token,
        "expires_at": now + timedelta(seconds=grant.expires_in),
        "scope": grant.scope,
        "status": PagerDutyAccount.Status.ACTIVE,
        "status_detail": "",
        "granted_at": now,
        "refused_at": None,
        "connected_by": user,
        "connected_by_left_at": None,  # acting acts as `user` now (departures)
    }
    account, created = PagerDutyAccount.objects.update_or_create(
        organization=organization,
        pd_account_id=grant.account_id or subdomain,
        defaults={**values, "token_version": F("token_version") + 1},
        create_defaults={**values, "token_version": 0},
    )
    if not created:  # the attribute holds the expression until read back
        account.refresh_from_db(fields=["token_version"])
    return account


def our_integration(service: dict[str, Any], ours: frozenset[str]) -> dict[str, Any] | None:
    """Our Events API v2 integration on a service listed with include[]=integrations;
    `ours` is `our_integration_ids(organization)`."""
    for integration in service.get("integrations") or []:
        if integration.get("type") == INTEGRATION_TYPE and integration.get("id") in ours:
            return integration
    return None


@dataclass
class ProvisionResult:
    connected: list[PagerDutyService] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (service name, why)
    # Per connected service, what `mended` said it paged again (alerts, say).
    mended: Mapping[int, int] = field(default_factory=dict)


def provision_services(
    account: PagerDutyAccount,
    services: list[dict[str, Any]],
    user: User,
    mended: Callable[[list[PagerDutyService]], Mapping[int, int]] | None = None,
) -> ProvisionResult:
    """Create (or reuse) our integration on each chosen service, then store each that worked
    in one transaction, with `mended`'s work on them (the alerts app's paging of what their
    old key could not page): their new keys and those pages are written together.

    A service whose integration could not be made is reported and leaves no row behind.
    """
    api = AccountApi(account)
    result = ProvisionResult()
    ours = our_integration_ids(account.organization)
    made: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for service in services:
        existing = our_integration(service, ours)
        try:
            if existing:
                integration = api.get_integration(service["id"], existing["id"])
            else:
                integration = api.create_integration(
                    service["id"], integration_name(account.organization)
                )
        except PagerDutyApiError as exc:
            result.failed.append((service.get("summary") or service.get("name", "?"), exc.message))
            continue
        made.append((service, integration))
    with transaction.atomic():
        result.connected = [
            _save(account, service, integration, user) for service, integration in made
        ]
        if mended is not None and result.connected:
            result.mended = mended(result.connected)
    if result.connected:
        services_connected.send(sender=PagerDutyService, services=result.connected)
    return result


def _save(
    account: PagerDutyAccount, service: dict[str, Any], integration: dict[str, Any], user: User
) -> PagerDutyService:
    """Store the service with its integration. Only integrations we created are reused: a
    person's own are never taken over."""
    row, _ = PagerDutyService.objects.update_or_create(
        account=account,
        pd_service_id=service["id"],
        defaults={
            "organization": account.organization,
            "region": account.region,
            "name": service.get("name") or service.get("summary") or service["id"],
            "html_url": service.get("html_url", ""),
            "integration_id": integration["id"],
            "integration_key": integration["integration_key"],
            "created_integration": True,
            "created_by": user,
            # A new or confirmed integration: what PagerDuty said of the old key is past.
            "refused_at": None,
            "refused_detail": "",
            "failing_since": None,
            "failing_detail": "",
        },
    )
    return row
