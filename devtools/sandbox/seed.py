"""Deterministic seed data: a large US account and a small EU account."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .state import Account, EscalationPolicy, Region, Service, Team, User

if TYPE_CHECKING:
    from .state import Store

SANDBOX_PASSWORD = "correct-horse-sandbox"  # noqa: S105 - shown on the sign-in page
CHECKOUT_SERVICE_COUNT = 130
_BASE_TIME = datetime(2024, 1, 15, 9, 0, 0, tzinfo=UTC)

US_TEAMS: dict[str, list[str]] = {
    "Payments": [f"Checkout API {n:03d}" for n in range(1, CHECKOUT_SERVICE_COUNT + 1)],
    "Platform": ["Edge Gateway", "Kubernetes Control Plane", "Postgres Primary", "Redis Cache"],
    "Mobile": ["iOS Push Relay", "Android Sync"],
    "Data": ["Warehouse Loader", "Stream Processor"],
    # The US user is not on this team: changing its service is refused (403).
    "Finance": ["General Ledger"],
}
RESTRICTED_TEAMS = {"Finance"}
EU_TEAMS: dict[str, list[str]] = {
    "Operations EU": [
        "Billing EU",
        "Shop Frontend EU",
        "Identity EU",
        "Search EU",
        "Notifications EU",
    ],
}
# Services that already carry an integration when the sandbox starts.
PREEXISTING_INTEGRATIONS: dict[str, tuple[str, str]] = {
    "Edge Gateway": ("events_api_v2_inbound_integration", "Datadog"),
    "Postgres Primary": ("generic_email_inbound_integration", "Email"),
    "Billing EU": ("events_api_v2_inbound_integration", "Prometheus Alertmanager"),
}


def seed(store: Store) -> None:
    """Populate an empty store. Called with the store lock held."""
    clock = iter(_BASE_TIME + timedelta(minutes=i) for i in range(10_000))
    _seed_account(
        store,
        clock,
        name="Acme Corp",
        subdomain="acme-us",
        region="us",
        user=("Olivia Oncall", "oncall@acme.example"),
        teams=US_TEAMS,
    )
    _seed_account(
        store,
        clock,
        name="Acme GmbH",
        subdomain="acme-eu",
        region="eu",
        user=("Emil Bereitschaft", "oncall@acme-eu.example"),
        teams=EU_TEAMS,
    )


def _seed_account(
    store: Store,
    clock: Iterator[datetime],
    *,
    name: str,
    subdomain: str,
    region: Region,
    user: tuple[str, str],
    teams: dict[str, list[str]],
) -> None:
    ids = store.ids
    account = Account(ids.object_id(), name, subdomain, region, ids.api_key())
    store.accounts[account.id] = account
    # A responder ("user" role): may change the services of the teams they are on.
    owner = User(ids.object_id(), account.id, user[0], user[1], SANDBOX_PASSWORD, role="user")
    owner.contact_method_id = ids.object_id()
    owner.notification_rule_id = ids.object_id()
    store.users[owner.id] = owner
    policy = EscalationPolicy(ids.object_id(), account.id, "Default")
    store.policies[policy.id] = policy
    for team_name, service_names in teams.items():
        team = Team(ids.object_id(), account.id, team_name, f"The {team_name} team")
        store.teams[team.id] = team
        if team_name not in RESTRICTED_TEAMS:
            owner.team_ids.append(team.id)
        for service_name in service_names:
            service = Service(
                id=ids.object_id(),
                account_id=account.id,
                name=service_name,
                description=f"{service_name} ({team_name})",
                team_ids=[team.id],
                escalation_policy_id=policy.id,
                created_at=next(clock),
            )
            store.services[service.id] = service
            if service_name in PREEXISTING_INTEGRATIONS:
                type_, label = PREEXISTING_INTEGRATIONS[service_name]
                email = (
                    f"{service_name.lower().replace(' ', '-')}@{subdomain}.pagerduty.com"
                    if type_ == "generic_email_inbound_integration"
                    else None
                )
                store.add_integration(service, type_, label, email, next(clock))
