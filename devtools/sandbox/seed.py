"""Deterministic seed data: a large US account and a small EU account."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .schedules import Schedule
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
# On call (see schedules.py): weekly shifts from _BASE_TIME. Each account's "Default" policy
# has its first user on call at level 1 ("Primary"); the US one has its second user at level
# 2 ("Secondary"). "General Ledger" uses the "Finance" policy, whose only schedule is empty:
# nobody is on call for it, ever.
NOBODY_ON_CALL_SERVICES = {"General Ledger"}
# Services that already carry an integration when the sandbox starts.
PREEXISTING_INTEGRATIONS: dict[str, tuple[str, str]] = {
    "Edge Gateway": ("events_api_v2_inbound_integration", "Datadog"),
    "Postgres Primary": ("generic_email_inbound_integration", "Email"),
    "Billing EU": ("events_api_v2_inbound_integration", "Prometheus Alertmanager"),
}

# Global Event Orchestrations (orchestrations.py) and the service their router sends to.
SEEDED_ORCHESTRATIONS: dict[str, str] = {
    "Acme Event Routing": "Edge Gateway",
    "Acme EU Event Routing": "Billing EU",
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
        users=[("Olivia Oncall", "oncall@acme.example"), ("Sam Second", "sam@acme.example")],
        teams=US_TEAMS,
    )
    _seed_account(
        store,
        clock,
        name="Acme GmbH",
        subdomain="acme-eu",
        region="eu",
        users=[("Emil Bereitschaft", "oncall@acme-eu.example")],
        teams=EU_TEAMS,
    )
    _seed_orchestrations(store, clock)


def _seed_orchestrations(store: Store, clock: Iterator[datetime]) -> None:
    """One global Event Orchestration per account, routing every event to one service."""
    for orchestration_name, service_name in SEEDED_ORCHESTRATIONS.items():
        service = next(s for s in store.services.values() if s.name == service_name)
        account = store.accounts[service.account_id]
        store.add_orchestration(account, orchestration_name, service, next(clock))


def _seed_account(
    store: Store,
    clock: Iterator[datetime],
    *,
    name: str,
    subdomain: str,
    region: Region,
    users: list[tuple[str, str]],
    teams: dict[str, list[str]],
) -> None:
    ids = store.ids
    account = Account(ids.object_id(), name, subdomain, region, ids.api_key())
    store.accounts[account.id] = account
    people = []
    for user_name, email in users:
        # Responders ("user" role): may change the services of the teams they are on.
        person = User(ids.object_id(), account.id, user_name, email, SANDBOX_PASSWORD, role="user")
        person.contact_method_id = ids.object_id()
        person.notification_rule_id = ids.object_id()
        store.users[person.id] = person
        people.append(person)
    policy = _policy(store, account, "Default", [[p.id] for p in people[:2]])
    names = {n for service_names in teams.values() for n in service_names}
    finance = (
        _policy(store, account, "Finance", [[]]) if names & NOBODY_ON_CALL_SERVICES else policy
    )
    for team_name, service_names in teams.items():
        team = Team(ids.object_id(), account.id, team_name, f"The {team_name} team")
        store.teams[team.id] = team
        if team_name not in RESTRICTED_TEAMS:
            for person in people:
                person.team_ids.append(team.id)
        for service_name in service_names:
            service = Service(
                id=ids.object_id(),
                account_id=account.id,
                name=service_name,
                description=f"{service_name} ({team_name})",
                team_ids=[team.id],
                escalation_policy_id=(
                    finance if service_name in NOBODY_ON_CALL_SERVICES else policy
                ).id,
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


LEVEL_NAMES = ("Primary", "Secondary")


def _policy(store: Store, account: Account, name: str, levels: list[list[str]]) -> EscalationPolicy:
    """A policy whose level N notifies one schedule with the given users (weekly shifts)."""
    policy = EscalationPolicy(store.ids.object_id(), account.id, name)
    for level, user_ids in enumerate(levels):
        schedule = Schedule(
            store.ids.object_id(),
            account.id,
            f"{name} {LEVEL_NAMES[level]}" if user_ids else f"{name} (nobody on call)",
            user_ids,
            _BASE_TIME,
        )
        store.schedules[schedule.id] = schedule
        policy.levels.append([schedule.id])
    store.policies[policy.id] = policy
    return policy
