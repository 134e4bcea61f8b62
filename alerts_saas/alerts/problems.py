"""What is broken in an organization's paging (`problems`), for the dashboard, the banner and
the emails, most costly first: a problem that an open firing meets, then one that enabled
alerts page through, then one that no enabled alert pages through (`Problem.impact`); within
each, as `health.RANK` ranks their kinds, an account to reconnect after broken paths. A
service a person changed and PagerDuty has not confirmed yet (`paths.unconfirmed`) is no
problem, so no email, but the dashboard lists it (`Paging.unconfirmed`): not "every paging
path works" while one is unconfirmed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q, Window
from django.urls import reverse

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.health import Fix, Health, Problem, ProblemKind, service_fix
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.reach import usable_fallbacks
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.paths import PathState, service_health
from integrations.pagerduty.reconnect import what_stopped

# Worst first within the same impact; an account to reconnect after failing deliveries: its
# pages still go out.
ORDER = [ProblemKind.REFUSED, ProblemKind.FAILING, ProblemKind.RECONNECT, ProblemKind.NOBODY]


@dataclass(frozen=True, slots=True)
class Unconfirmed:
    """A service a person changed (a pasted key's region): not refused, not OK either."""

    name: str
    words: str
    since: datetime | None
    fix: Fix


@dataclass(frozen=True, slots=True)
class Paging:
    """The problems a page shows (the first `limit`), and what the counts say of all."""

    shown: list[Problem]
    total: int  # all problems
    broken: int  # broken paths that enabled alerts page through (not accounts to reconnect)
    unused: int  # broken paths that no enabled alert pages through
    to_reconnect: int  # accounts to reconnect: pages still go out
    unconfirmed: list[Unconfirmed] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.total - len(self.shown)


def problems(organization: Organization) -> list[Problem]:
    """The organization's problems now, most costly first: services PagerDuty refuses,
    accounts to reconnect, services whose deliveries fail, enabled alerts with no service.
    A few queries however many alerts there are."""
    return _problems(organization, None).shown


def problems_shown(organization: Organization, limit: int) -> Paging:
    """The first `limit` of `problems` and the counts of them all, for a page that shows a
    few: the alerts that page nobody are read only as far as could be shown, and counted."""
    return _problems(organization, limit)


def _problems(organization: Organization, limit: int | None) -> Paging:
    """`problems`, the orphan alerts read only up to `limit` of them; and the counts.

    Alert targets are read only for the broken services and the accounts to reconnect
    (usually none), not for every enabled alert; open firings only of the alerts affected."""
    slug = organization.slug
    found: list[Problem] = []
    # With the usable fallback (`reach`) and the unconfirmed, in the same query.
    marked = list(
        PagerDutyService.objects.filter(organization=organization)
        .filter(
            Q(refused_at__isnull=False)
            | Q(failing_since__isnull=False)
            | Q(unconfirmed_at__isnull=False)
            | usable_fallbacks()
        )
        .select_related("account")
        .order_by("name")
    )
    broken = [s for s in marked if s.refused_at is not None or s.failing_since is not None]
    fallback = next((s.name for s in marked if s.is_fallback and s.refused_at is None), "")
    accounts = list(
        PagerDutyAccount.objects.filter(
            organization=organization, status=PagerDutyAccount.Status.NEEDS_RECONNECT
        ).prefetch_related("services")
    )
    refused = {s.pk for s in broken if s.refused_at is not None}
    involved = {s.pk for s in broken} | {s.pk for a in accounts for s in a.services.all()}
    using: dict[int, list[tuple[int, str]]] = defaultdict(list)  # service: (alert, name)
    targets: dict[int, set[int]] = defaultdict(set)  # alert: its services
    enabled_targets = Alert.targets.through.objects.filter(
        alert__organization=organization, alert__enabled=True
    )
    if involved:
        for service_id, alert_id, name in enabled_targets.filter(
            pagerdutyservice_id__in=involved
        ).values_list("pagerdutyservice_id", "alert_id", "alert__name"):
            using[service_id].append((alert_id, name))
    # Whether an alert that targets a refused service pages nobody: all its services.
    of_refused = {a for s in refused for a, _name in using[s]}
    if of_refused:
        for service_id, alert_id in enabled_targets.filter(alert_id__in=of_refused).values_list(
            "pagerdutyservice_id", "alert_id"
        ):
            targets[alert_id].add(service_id)
    # Alerts with no service; how many in all, in the same query (a window, counted before
    # the limit): at least one row is read for it, shown or not.
    orphans = (
        Alert.objects.filter(organization=organization, enabled=True, targets__isnull=True)
        .only("pk", "name")
        .annotate(orphans=Window(Count("pk")))
        .order_by("name")
    )
    read = list(orphans if limit is None else orphans[: max(1, limit)])
    # Which of the alerts met are firing now: one query for them all.
    affected = {a for pairs in using.values() for a, _name in pairs} | {a.pk for a in read}
    firing = set(_firing(organization, affected)) if affected else set()

    def names(alerts: Iterable[tuple[int, str]]) -> tuple[str, ...]:
        return tuple(sorted(name for _pk, name in set(alerts)))

    def silenced(alerts: Iterable[tuple[int, str]]) -> tuple[str, ...]:
        return names(a for a in alerts if targets[a[0]] <= refused)

    def fires(alerts: Iterable[tuple[int, str]]) -> bool:
        return any(pk in firing for pk, _name in alerts)

    for service in broken:
        since: datetime | None
        if service.refused_at is not None:
            path = service_health(service)
            kind, health, title = (
                ProblemKind.REFUSED,
                Health.REFUSED,
                f"{service.name} was deleted in PagerDuty"
                if path.deleted
                else f"PagerDuty refuses {service.name}",
            )
            since, words, cause, ask = service.refused_at, path.words, path.cause, path.ask
            mute = silenced(using[service.pk])
            if fallback and mute:  # they page someone after all (`reach`)
                rescue = f" Paged through the fallback, {fallback}: {', '.join(mute)}."
                words, cause, mute = words + rescue, cause + rescue, ()
        else:
            kind, health, title = (
                ProblemKind.FAILING,
                Health.FAILING,
                f"Deliveries to {service.name} are failing",
            )
            since, words = service.failing_since, service.failing_detail
            cause, ask = words, ""
            mute = ()  # a failing service is still tried: it may page again
        found.append(
            Problem(
                kind,
                f"{kind}:service:{service.pk}",
                title,
                words,
                service_fix(service, health, slug),
                since,
                names(using[service.pk]),
                mute,
                cause,
                ask,
                fires(using[service.pk]),
                service.is_fallback,
            )
        )
    for account in accounts:
        theirs = [a for s in account.services.all() for a in using[s.pk]]
        detail = what_stopped(account.name)  # not paging broken (`pagerduty.reconnect`)
        found.append(
            Problem(
                ProblemKind.RECONNECT,
                f"reconnect:account:{account.pk}",
                f"PagerDuty account {account.name} needs reconnecting",
                detail,
                Fix(
                    "Reconnect it in Integrations",
                    reverse("pagerduty:integrations", args=[slug]) + f"#account-{account.pk}",
                ),
                account.refused_at,  # None for an account refused before it was recorded
                names(theirs),
                cause=detail,
                ask=f"reconnect {account.name} in Integrations",
                firing=fires(theirs),
            )
        )
    reconnect = sum(p.kind == ProblemKind.RECONNECT for p in found)
    unused = sum(p.kind != ProblemKind.RECONNECT and p.impact == 2 for p in found)
    total = len(found) + (read[0].orphans if read else 0)
    for alert in read if limit is None else read[:limit]:
        found.append(
            Problem(
                ProblemKind.NOBODY,
                f"nobody:alert:{alert.pk}",
                f"{alert.name} pages nobody",
                "It is enabled but has no PagerDuty service: when it fires, nobody is paged.",
                Fix("Add a service", reverse("alerts:edit", args=[slug, alert.pk])),
                None,
                (alert.name,),
                (alert.name,),
                firing=alert.pk in firing,
            )
        )
    found.sort(key=lambda p: (p.impact, ORDER.index(p.kind)))
    return Paging(
        found if limit is None else found[:limit],
        total,
        total - reconnect - unused,
        unused,
        reconnect,
        [_unconfirmed(s, slug) for s in marked if _is_unconfirmed(s)],
    )


def _firing(organization: Organization, alert_ids: set[int]) -> list[int]:
    """Those of these alerts with an open firing: one query on the open firings' index."""
    return list(
        Firing.objects.filter(
            alert__organization=organization, alert_id__in=alert_ids, cleared_at__isnull=True
        )
        .order_by()
        .values_list("alert_id", flat=True)
        .distinct()
    )


def _is_unconfirmed(service: PagerDutyService) -> bool:
    if service.unconfirmed_at is None:
        return False
    return service_health(service).state == PathState.UNCONFIRMED


def _unconfirmed(service: PagerDutyService, slug: str) -> Unconfirmed:
    path = service_health(service)
    return Unconfirmed(
        service.name, path.words, path.since, service_fix(service, Health.UNCONFIRMED, slug)
    )
