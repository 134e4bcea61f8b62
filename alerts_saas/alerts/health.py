"""Whether each alert can page someone, and what is broken in an organization's paging.

An alert's path is as good as its targets: it pages nobody without one; a target PagerDuty
refuses, whose account needs reconnecting, or whose deliveries fail, is a broken part of
it. The pages show this beside the alert's state; `problems` lists the organization's
broken paths for the dashboard, the banner and the emails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from django.db.models import Prefetch
from django.urls import reverse

from alerts_saas.alerts.models import Alert
from alerts_saas.alerts.reach import Fallbacks
from integrations.pagerduty.models import PagerDutyService
from integrations.pagerduty.paths import PathState, clause, service_health


class Health(StrEnum):
    """An alert's paging path, worst first in `RANK`."""

    OK = "ok"
    OFF = "off"  # disabled: it pages nobody, on purpose
    NOBODY = "nobody"  # enabled, with no service to page
    REFUSED = "refused"
    RECONNECT = "reconnect"
    FAILING = "failing"
    UNCONFIRMED = "unconfirmed"  # a person changed a service; PagerDuty has not taken it yet


RANK = [
    Health.NOBODY,
    Health.REFUSED,
    Health.FAILING,
    Health.RECONNECT,
    Health.UNCONFIRMED,
    Health.OK,
    Health.OFF,
]
LABELS = {
    Health.OK: "Pages OK",
    Health.OFF: "Off",
    Health.NOBODY: "Pages nobody",
    Health.REFUSED: "Refused by PagerDuty",
    Health.RECONNECT: "Needs reconnecting",
    Health.FAILING: "Deliveries failing",
    Health.UNCONFIRMED: "Not confirmed yet",
}
_FROM_PATH = {
    PathState.REFUSED: Health.REFUSED,
    PathState.RECONNECT: Health.RECONNECT,
    PathState.FAILING: Health.FAILING,
    PathState.UNCONFIRMED: Health.UNCONFIRMED,
}


@dataclass(frozen=True, slots=True)
class Fix:
    """The one click that mends it."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class TargetTrouble:
    """One target of an alert that can't page, in words: `words` for an owner or admin
    (cause and what to do), `cause` and `ask` for a member, who asks one of them to do
    what only they can (`ask` empty: anyone can, `words` for all; `_advice.html`)."""

    service: PagerDutyService
    health: Health
    words: str
    fix: Fix
    cause: str = ""
    ask: str = ""
    since: datetime | None = None  # when it broke, if Tripwire knows
    reason: str = ""  # `short_reason`


@dataclass(frozen=True, slots=True)
class AlertHealth:
    health: Health
    troubles: tuple[TargetTrouble, ...] = ()
    words: str = ""
    fix: Fix | None = None
    can_page: bool = True  # some target can still be expected to page someone
    others_fine: bool = False  # some of its targets have nothing wrong
    cause: str = ""  # `words` for a member, with `ask` (see TargetTrouble)
    ask: str = ""
    since: datetime | None = None  # the worst trouble's, shown beside the label
    reason: str = ""  # the worst trouble's, in a few words (`short_reason`)
    fallback: str = ""  # the fallback service its firings page: PagerDuty refuses its own

    @property
    def label(self) -> str:
        return LABELS[self.health]

    @property
    def fallback_words(self) -> str:
        return fallback_promise(self.fallback) if self.fallback else ""

    @property
    def code(self) -> str:
        return self.health.value

    @property
    def ok(self) -> bool:
        return self.health in (Health.OK, Health.OFF)


def fallback_promise(name: str) -> str:
    """What the alert's path does from now on; what a firing got is its own (`reach`)."""
    return f"Each firing pages the fallback, {name}, instead."


def service_fix(service: PagerDutyService, health: Health, slug: str) -> Fix:
    """Where a person mends a service's path."""
    if health == Health.RECONNECT:
        # Reconnecting is a POST (it starts OAuth): the link leads to the account's button.
        return Fix(
            "Reconnect it in Integrations",
            reverse("pagerduty:integrations", args=[slug]) + f"#account-{service.account_id}",
        )
    if health == Health.FAILING:
        return Fix(
            "See its deliveries",
            reverse("pagerduty:service_deliveries", args=[slug, service.pk]),
        )
    return Fix(
        "Check it in Integrations" if health == Health.UNCONFIRMED else "Fix it in Integrations",
        reverse("pagerduty:integrations", args=[slug]) + f"#service-{service.pk}",
    )


def alert_health(
    alert: Alert,
    targets: Sequence[PagerDutyService],
    slug: str,
    fallbacks: Fallbacks | None = None,
) -> AlertHealth:
    """The alert's path, given its targets (with their accounts loaded); `fallbacks` is
    asked only if PagerDuty refuses every target (pass one for many alerts: `reach`)."""
    if not alert.enabled:
        return AlertHealth(
            Health.OFF, words="Disabled: it pages nobody until enabled.", can_page=False
        )
    if not targets:
        return AlertHealth(
            Health.NOBODY,
            words="It has no PagerDuty service, so when it fires nobody is paged.",
            fix=Fix("Add a service", reverse("alerts:edit", args=[slug, alert.pk])),
            can_page=False,
        )
    troubles = []
    for service in targets:
        path = service_health(service)
        if path.ok:
            continue
        health = _FROM_PATH[path.state]
        fix = service_fix(service, health, slug)
        troubles.append(
            TargetTrouble(
                service,
                health,
                path.words,
                fix,
                path.cause,
                path.ask,
                path.since,
                short_reason(service, health),
            )
        )
    if not troubles:
        return AlertHealth(Health.OK)
    troubles.sort(key=lambda t: RANK.index(t.health))
    worst = troubles[0]
    # Pages still go out through the key of a service whose deliveries failed or whose
    # account needs reconnecting; a refused key pages nobody.
    can_page = len(troubles) < len(targets) or any(t.health != Health.REFUSED for t in troubles)
    fallback = "" if can_page else (fallbacks or Fallbacks()).name(alert.organization_id)
    more = ""
    if len(troubles) > 1:
        more += f" ({len(troubles) - 1} more service{'s' if len(troubles) > 2 else ''} too.)"
    if len(troubles) < len(targets):
        more += " Its other services still page."
    if fallback:
        more += f" {fallback_promise(fallback)}"
    others_fine = len(troubles) < len(targets)
    return AlertHealth(
        worst.health,
        tuple(troubles),
        f"{worst.service.name}: {worst.words}{more}",
        worst.fix,
        can_page or bool(fallback),
        others_fine,
        f"{worst.service.name}: {worst.cause}{more}",
        worst.ask,
        worst.since,
        worst.reason,
        fallback,
    )


def short_reason(service: PagerDutyService, health: Health) -> str:
    """What broke a service's path, in a few words for a row beside its label: whose it is
    and what PagerDuty said ("Checkout API: Invalid routing key")."""
    if health == Health.RECONNECT and service.account is not None:
        return f"Account {service.account.name} to reconnect: pages still go out"
    if health == Health.REFUSED:
        return f"{service.name}: {clause(service.refused_detail) or 'HTTP 400'}"
    if health == Health.UNCONFIRMED:
        return f"{service.name}: {clause(service.unconfirmed_why)}, not confirmed yet"
    return f"{service.name}: {clause(service.failing_detail) or 'PagerDuty refused it'}"


def targets_with_accounts() -> Prefetch[str]:
    """Prefetch for `Alert.targets` that `alert_health` needs (one query for a page)."""
    return Prefetch("targets", queryset=PagerDutyService.objects.select_related("account"))


def health_of(alerts: Iterable[Alert], slug: str) -> dict[int, AlertHealth]:
    """Each alert's health; the alerts' targets must be prefetched (`targets_with_accounts`)."""
    fallbacks = Fallbacks()
    return {
        alert.pk: alert_health(alert, list(alert.targets.all()), slug, fallbacks)
        for alert in alerts
    }


class ProblemKind(StrEnum):
    REFUSED = "refused"
    RECONNECT = "reconnect"
    FAILING = "failing"
    NOBODY = "nobody"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing broken in an organization's paging, named so that it is the same problem
    from one look to the next (`key`), with the alerts it leaves without a page."""

    kind: ProblemKind
    key: str
    title: str
    words: str
    fix: Fix
    since: datetime | None = None
    alerts: tuple[str, ...] = field(default=())
    # Those of `alerts` that page nobody at all now: PagerDuty refuses every service they
    # target (or they have none). The others still page some service. An account to
    # reconnect silences nobody: deliveries use the services' integration keys, not its
    # tokens.
    silenced: tuple[str, ...] = field(default=())
    cause: str = ""  # `words` for a member, with `ask` (see TargetTrouble)
    ask: str = ""
    firing: bool = False  # one of `alerts` is firing now
    fallback: bool = False  # the organization's fallback: alerts page it when theirs can't

    @property
    def impact(self) -> int:
        """How much it costs now, most first: an open firing it affects (0), enabled alerts
        that page through it, or the fallback (1), nothing that pages (2). Problems are
        listed in this order; the last are not broken paging (`notices.emails`)."""
        return 0 if self.firing else 1 if self.alerts or self.fallback else 2
