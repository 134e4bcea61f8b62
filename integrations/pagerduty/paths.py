"""Whether a service can page: what the last deliveries to it said, and its account's state.

The engine writes what it learns as it settles outcomes (`record`): PagerDuty refusing a
service's key (a 400 about the routing key: the integration was removed or the key is
wrong), or a delivery failing for good for another reason. Both hold until a delivery to
the service succeeds again (a test alert, say), or the service is mended in Tripwire. The
settle statement says which services a delivery reached are marked, so the hot path pays no
extra round trip while every path works; only a mark to clear costs one (`heal`), with the
pages it kept from going out sent there again (`signals.paths_healed`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from alerts_saas.accounts.times import clock
from integrations.pagerduty.events import EventResult
from integrations.pagerduty.healing import MARKED, lock_alerts_to_page
from integrations.pagerduty.models import Delivery, PagerDutyService
from integrations.pagerduty.path_words import INTEGRATION_REMOVED as INTEGRATION_REMOVED
from integrations.pagerduty.path_words import LABELS as LABELS
from integrations.pagerduty.path_words import SERVICE_DELETED as SERVICE_DELETED
from integrations.pagerduty.path_words import PathState as PathState
from integrations.pagerduty.path_words import ServiceHealth as ServiceHealth
from integrations.pagerduty.path_words import clause as clause
from integrations.pagerduty.path_words import other_region as other_region
from integrations.pagerduty.path_words import refused, unconfirmed
from integrations.pagerduty.reconnect import STOPPED
from integrations.pagerduty.signals import announce, paths_healed

DETAIL_LENGTH = 500
log = logging.getLogger(__name__)


def refuses_key(result: EventResult) -> bool:
    """PagerDuty refused the event because of its routing key: "Invalid routing key", a
    key of the wrong length, and so on. Our own events are valid by construction, so this
    says the integration is gone or the key is wrong, not that the event is."""
    if result.status != 400:
        return False
    words = " ".join([result.message, *result.errors]).lower()
    return "routing key" in words or "routing_key" in words or "integration key" in words


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one settled delivery says about its service's path."""

    service_id: int
    refused: bool
    detail: str
    key: str = ""  # the routing key it was sent with ("": the service's own, as far as known)
    region: str = ""  # the region it was sent to ("": the service's own, as far as known)


def record(failures: Iterable[Outcome], now: datetime | None = None) -> set[int]:
    """Mark the services whose deliveries just failed for good; return the ids newly marked
    refused. Compare-and-set: the first failure's time and words are kept. Newly marked
    services' organizations are announced (`signals.paging_changed`). A delivery sent with a
    key its service no longer has (replaced since: "Add services" gave it a new integration)
    says nothing about the service's path, and marks nothing (`_current`); nor does one sent
    to a region the service is no longer in (a person switched it meanwhile): PagerDuty's
    answer there is not about the region it pages through now."""
    now = now or timezone.now()
    refused_now: dict[int, str] = {}
    failing: dict[int, str] = {}
    for outcome in _current(list(failures)):
        (refused_now if outcome.refused else failing).setdefault(
            outcome.service_id, outcome.detail[:DETAIL_LENGTH]
        )
    newly_refused: set[int] = set()
    for service_id, detail in refused_now.items():
        if PagerDutyService.objects.filter(pk=service_id, refused_at__isnull=True).update(
            refused_at=now,
            refused_detail=detail,
            refused_first=_never_accepted(now),
            unconfirmed_at=None,  # PagerDuty answered what a person's change left open
            unconfirmed_why="",
        ):
            newly_refused.add(service_id)
    newly_marked = set(newly_refused)
    for service_id, detail in failing.items():
        if PagerDutyService.objects.filter(pk=service_id, failing_since__isnull=True).update(
            failing_since=now, failing_detail=detail
        ):
            newly_marked.add(service_id)
    if newly_marked:
        announce(
            PagerDutyService,
            PagerDutyService.objects.filter(pk__in=newly_marked).values_list(
                "organization_id", flat=True
            ),
        )
    return newly_refused


def _never_accepted(now: datetime) -> ExpressionWrapper:
    """In a refusal's update: PagerDuty never took an event for the service (a key that
    never worked is likelier mistyped than removed), as far as the deliveries kept tell."""
    kept = now - timedelta(days=settings.DELIVERY_RETENTION_DAYS)
    accepted = Delivery.objects.filter(service_id=OuterRef("pk"), status=Delivery.Status.DELIVERED)
    return ExpressionWrapper(
        Q(created_at__gte=kept) & ~Exists(accepted), output_field=BooleanField()
    )


def _current(failures: list[Outcome]) -> list[Outcome]:
    """The failures sent with their service's current key to its current region: one query
    per settle that has failures for good (the engine always says both; a failure without
    them is taken as sent with the current ones). Deliveries that got through never reach
    here."""
    ids = {o.service_id for o in failures if o.key or o.region}
    if not ids:
        return failures
    paths = {
        pk: (key, region)
        for pk, key, region in PagerDutyService.objects.filter(pk__in=ids).values_list(
            "pk", "integration_key", "region"
        )
    }
    return [o for o in failures if _sent_on(o, paths.get(o.service_id))]


def _sent_on(outcome: Outcome, path: tuple[str, str] | None) -> bool:
    """Whether the outcome was sent on this (key, region): what it did not say, it was."""
    if not outcome.key and not outcome.region:
        return True
    if path is None:
        return False
    key, region = path
    return (not outcome.key or outcome.key == key) and (
        not outcome.region or outcome.region == region
    )


def mark_removed(organization_id: int, details: Mapping[int, str]) -> int:
    """PagerDuty's list shows these services gone (service id -> `INTEGRATION_REMOVED` or
    `SERVICE_DELETED`): mark them refused, as a refused page would, in one compare-and-set
    statement. An earlier refusal's time is kept, and its words, unless these say more than
    a refused key and change what to do: the service deleted, or PagerDuty's own words
    explained by the integration's removal. Returns how many
    were newly marked; their organization is announced."""
    if not details:
        return 0
    by_detail: dict[str, list[int]] = {}
    for service_id, words in details.items():
        by_detail.setdefault(words, []).append(service_id)
    detail = Case(
        *(When(pk__in=ids, then=Value(words)) for words, ids in by_detail.items()),
        output_field=CharField(),
    )
    deleted = Q(pk__in=by_detail.get(SERVICE_DELETED, [])) & ~Q(refused_detail=SERVICE_DELETED)
    # PagerDuty's own words ("Invalid routing key") give way to what its list explains.
    removed = Q(pk__in=by_detail.get(INTEGRATION_REMOVED, [])) & ~Q(
        refused_detail__in=[INTEGRATION_REMOVED, SERVICE_DELETED]
    )
    marked = (
        PagerDutyService.objects.filter(organization_id=organization_id, pk__in=list(details))
        .filter(Q(refused_at__isnull=True) | deleted | removed)
        .update(refused_at=Coalesce("refused_at", Value(timezone.now())), refused_detail=detail)
    )
    if marked:
        announce(PagerDutyService, [organization_id])
    return marked


def unmark_deleted(organization_id: int, relisted: Mapping[int, bool]) -> int:
    """PagerDuty lists again these services marked `SERVICE_DELETED` (service id -> whether
    it lists them without Tripwire's integration): they were not deleted after all (a list
    shows what the token can see). Their mark goes, or, for one listed without our
    integration, becomes `INTEGRATION_REMOVED` (its time kept). One compare-and-set statement
    on that mark only: any other refusal stays. Returns how many changed; announced."""
    if not relisted:
        return 0
    removed = [pk for pk, gone in relisted.items() if gone]
    changed = PagerDutyService.objects.filter(
        organization_id=organization_id, pk__in=list(relisted), refused_detail=SERVICE_DELETED
    ).update(
        refused_at=Case(
            When(pk__in=removed, then=F("refused_at")), default=None, output_field=DateTimeField()
        ),
        refused_detail=Case(
            When(pk__in=removed, then=Value(INTEGRATION_REMOVED)),
            default=Value(""),
            output_field=CharField(),
        ),
    )
    if changed:
        announce(PagerDutyService, [organization_id])
    return changed


def heal(service_ids: Iterable[int], reached_in: Collection[tuple[int, str]] | None = None) -> int:
    """A delivery to each of these services succeeded: those marked refused or failing page
    again. `reached_in`: the (service, region) pairs the deliveries went to; only a service
    reached in the region it is in now heals (PagerDuty's answer from another region is not
    about its path). None: each was reached in its own region. In one transaction (a
    savepoint in the caller's) with `signals.paths_healed`, whose receiver pages there what
    their failure kept from paging: only the transaction that clears a mark (compare-and-set,
    under the rows' locks; the alerts it pages are locked before them: `healing`) sends it,
    once. If that fails, the marks stay until the next delivery that gets through. Returns
    how many."""
    ids = sorted(set(service_ids))
    if not ids:
        return 0
    there = Q()
    for pk, region in sorted(set(reached_in or ())):
        there |= Q(pk=pk, region=region)
    if reached_in is not None and not there:
        return 0
    try:
        with transaction.atomic():
            lock_alerts_to_page(ids)
            marked = list(
                PagerDutyService.objects.select_for_update(no_key=True)
                .filter(pk__in=ids)
                .filter(MARKED, there)
                .order_by("pk")
                .values_list("pk", "organization_id")
            )
            if not marked:
                return 0
            PagerDutyService.objects.filter(pk__in=[pk for pk, _ in marked]).update(
                refused_at=None,
                refused_detail="",
                failing_since=None,
                failing_detail="",
                unconfirmed_at=None,  # confirmed: PagerDuty took an event there
                unconfirmed_why="",
                refused_region="",  # the key works: a later refusal is not the region's
            )
            healed: dict[int, list[int]] = {}
            for pk, organization_id in marked:
                healed.setdefault(organization_id, []).append(pk)
            paths_healed.send(sender=PagerDutyService, services=healed)
    except Exception:  # the engine's settle must not fail for it: next success heals
        log.exception("Services %s were reached but stay marked; the next delivery heals", ids)
        return 0
    return len(marked)


def service_health(service: PagerDutyService) -> ServiceHealth:
    """The service's path state. Reads `service.account` (select it with the service)."""
    if service.refused_at is not None:
        return refused(service)
    account = service.account
    if account is not None and account.needs_reconnect:
        since = f" since {clock(account.refused_at)}" if account.refused_at else ""
        return ServiceHealth(
            PathState.RECONNECT,
            f"Its PagerDuty account {account.name} needs reconnecting{since}. Pages still go "
            f"out through its integration key; stopped until it is reconnected: {STOPPED}.",
            account.refused_at,
            ask=f"reconnect {account.name} in Integrations",
        )
    if service.failing_since is not None:
        return ServiceHealth(
            PathState.FAILING,
            f"A delivery to it failed: {service.failing_detail or 'PagerDuty refused it'}.",
            service.failing_since,
        )
    if service.unconfirmed_at is not None:
        return unconfirmed(service)
    return ServiceHealth(PathState.OK)


def fallback_service(organization_id: int) -> PagerDutyService | None:
    """The organization's fallback service, if it set one."""
    return (
        PagerDutyService.objects.select_related("account")
        .filter(organization_id=organization_id, is_fallback=True)
        .first()
    )


# The organization's choice of fallback, as a lock: choosing one takes it alone, and the
# engine's copy of refused triggers to the fallback takes it shared (in a space of its own).
_CHOICE_SPACE = 0xFA11  # "fall"
_CHOICE = (
    "SELECT count(pg_advisory_xact_lock{shared}(%s, o)) "
    "FROM (SELECT o FROM unnest(%s::int[]) AS o ORDER BY o) AS orgs"
)


def lock_fallback_choice(organization_ids: Iterable[int], *, choosing: bool = False) -> None:
    """Until the transaction ends, no fallback is chosen for these organizations meanwhile
    (`choosing`: this transaction chooses one, and waits for the settles under way). Taken
    first: the settle of a refused trigger then reads the fallback chosen before it, or the
    choice reads the refusal settled before it, never neither (`fallback_now`). Nothing on
    SQLite, which has one writer at a time."""
    ids = sorted({org & 0x7FFFFFFF for org in organization_ids})
    if not ids or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(_CHOICE.format(shared="" if choosing else "_shared"), [_CHOICE_SPACE, ids])
