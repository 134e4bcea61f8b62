"""Provisioning what a connect flow chose: the PagerDuty account (with its tokens) and, on
each chosen service, our Events API v2 integration (created, or reused when it is ours)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from alerts_saas.accounts.models import Organization, User
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.oauth import Grant
from integrations.pagerduty.rest import INTEGRATION_TYPE, AccountApi, PagerDutyApiError
from integrations.pagerduty.signals import services_connected


def integration_name(organization: Organization) -> str:
    """The name of the Events API v2 integration we create on each chosen service.

    It ends with the organization's id, which never changes and no other tenant shares:
    that suffix is how we recognise our own integration later.
    """
    return f"{settings.PRODUCT_NAME} ({organization.name}){_suffix(organization)}"


def _suffix(organization: Organization) -> str:
    return f" · org-{organization.pk}"


def save_account(organization: Organization, user: User, grant: Grant) -> PagerDutyAccount:
    """Store (or reconnect) the account the grant is for, with its tokens.

    PagerDuty's id_token names the account by its subdomain; that is the name we show.
    """
    subdomain = grant.subdomain
    name = str(grant.claims.get("account_name") or subdomain)
    account, _ = PagerDutyAccount.objects.update_or_create(
        organization=organization,
        pd_account_id=grant.account_id or subdomain,
        defaults={
            "subdomain": subdomain,
            "name": name,
            "region": grant.region,
            "pd_user_id": grant.user_id,
            "access_token": grant.access_token,
            "refresh_token": grant.refresh_token,
            "expires_at": timezone.now() + timedelta(seconds=grant.expires_in),
            "scope": grant.scope,
            "status": PagerDutyAccount.Status.ACTIVE,
            "status_detail": "",
            "connected_by": user,
        },
    )
    return account


def our_integration(service: dict[str, Any], organization: Organization) -> dict[str, Any] | None:
    """Our Events API v2 integration on a service listed with include[]=integrations."""
    suffix = _suffix(organization)
    for integration in service.get("integrations") or []:
        name = str(integration.get("name") or "")
        if integration.get("type") == INTEGRATION_TYPE and name.endswith(suffix):
            return integration
    return None


@dataclass
class ProvisionResult:
    connected: list[PagerDutyService] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (service name, why)


def provision_services(
    account: PagerDutyAccount, services: list[dict[str, Any]], user: User
) -> ProvisionResult:
    """Create (or reuse) our integration on each service, and store each that worked.

    A service whose integration could not be made is reported and leaves no row behind.
    """
    api = AccountApi(account)
    organization = account.organization
    result = ProvisionResult()
    for service in services:
        existing = our_integration(service, organization)
        try:
            if existing:
                integration = api.get_integration(service["id"], existing["id"])
            else:
                integration = api.create_integration(service["id"], integration_name(organization))
        except PagerDutyApiError as exc:
            result.failed.append((service.get("summary") or service.get("name", "?"), exc.message))
            continue
        # Only integrations carrying our name are used, so each is ours to delete later.
        row, _ = PagerDutyService.objects.update_or_create(
            account=account,
            pd_service_id=service["id"],
            defaults={
                "organization": organization,
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
        result.connected.append(row)
    if result.connected:
        services_connected.send(sender=PagerDutyService, services=result.connected)
    return result
