"""Who a service would page right now: its escalation policy's first level, from
PagerDuty's `GET /oncalls`, and how urgently (its `incident_urgency_rule`, from the same
`GET /services/{id}` that names the policy). Read from the database by the pages; refreshed
by a task when older than `FRESH`, at most one request in flight per service
(compare-and-set), so a page never waits on PagerDuty. A panel polled every few seconds
reads it through `on_call_cached`: per service, at most every CACHED_SECONDS, and afresh
as soon as a refresh writes a new reading (`refresh` forgets the service's entry)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from typing import Any, NamedTuple

from django.core.cache import cache
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils import timezone

from integrations.pagerduty.incidents.models import OnCallNow
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError
from integrations.pagerduty.task_names import task

log = logging.getLogger(__name__)
REFRESH_ON_CALL = "integrations.pagerduty.incidents.tasks.refresh_on_call"  # tasks.py's
FRESH = timedelta(minutes=2)
ASKED = timedelta(seconds=30)  # a refresh asked for this recently is not asked again
AS_OF = FRESH * 2  # a check older than this missed a refresh: the page says when it was
CACHED_SECONDS = 10  # a polled panel's reading of a service, unless a refresh writes sooner


def on_call(services: Iterable[PagerDutyService]) -> dict[int, OnCallNow]:
    """What is known now of who the OAuth-connected `services` page (one query), asking
    for a refresh of what is missing or stale. Each row carries, for the page, `as_of`
    (its last check is older than the usual refresh), `account_name` and
    `to_reconnect` (an account to reconnect is not asked: Tripwire can't check now)."""
    oauth = [s for s in services if s.account_id is not None]
    if not oauth:
        return {}
    known = _read(oauth)
    missing = [s for s in oauth if s.pk not in known]
    if missing:  # first look at these: a row each, read back with their accounts
        OnCallNow.objects.bulk_create(
            [OnCallNow(organization_id=s.organization_id, service=s) for s in missing],
            ignore_conflicts=True,
        )
        known = _read(oauth)
    now = timezone.now()
    stale = [
        pk
        for pk, row in known.items()
        if not to_reconnect(row) and (row.checked_at is None or now - row.checked_at > FRESH)
    ]
    if stale:
        _ask(stale)
    return known


def on_call_cached(services: Iterable[PagerDutyService]) -> dict[int, OnCallNow]:
    """`on_call`, each service's reading kept CACHED_SECONDS in the cache (a panel polled
    every 2 s reads it every 10 s, not every poll), forgotten when `refresh` writes a new
    one. A reader that read the database just before a refresh committed may write its
    reading back after the refresh forgot it, so a name can outlive the database's by up
    to CACHED_SECONDS (10 s), no more. The cache unreachable, it reads the database."""
    oauth = [s for s in services if s.account_id is not None]
    if not oauth:
        return {}
    try:
        found = cache.get_many([_cache_key(s.pk) for s in oauth])
    except Exception as exc:
        log.warning("On-call readings not read from the cache (%s)", exc.__class__.__name__)
        found = {}
    known: dict[int, OnCallNow] = {row.service_id: row for row in found.values()}
    missing = [s for s in oauth if s.pk not in known]
    if missing:
        read = on_call(missing)
        try:
            cache.set_many({_cache_key(pk): row for pk, row in read.items()}, CACHED_SECONDS)
        except Exception as exc:
            log.warning("On-call readings not cached (%s)", exc.__class__.__name__)
        known.update(read)
    return known


def _cache_key(service_id: int) -> str:
    return f"pagerduty:on-call:{service_id}"


def _forget(service_id: int) -> None:
    try:
        cache.delete(_cache_key(service_id))
    except Exception as exc:  # kept CACHED_SECONDS at most
        log.warning("A cached on-call reading not forgotten (%s)", exc.__class__.__name__)


def _read(services: list[PagerDutyService]) -> dict[int, OnCallNow]:
    as_of = Q(checked_at__lt=timezone.now() - AS_OF)
    rows = OnCallNow.objects.filter(service__in=services).annotate(
        account_name=F("service__account__name"),
        to_reconnect=ExpressionWrapper(
            Q(service__account__status=PagerDutyAccount.Status.NEEDS_RECONNECT),
            output_field=BooleanField(),
        ),
        as_of=ExpressionWrapper(as_of, output_field=BooleanField()),
    )
    return {row.service_id: row for row in rows}


def to_reconnect(row: OnCallNow | None) -> bool:
    """A read on-call row whose account needs reconnecting: Tripwire can't read on-call or
    urgency for its service now (the annotation `read` adds)."""
    return bool(getattr(row, "to_reconnect", False))


def _ask(stale: list[int]) -> None:
    """Ask for a refresh of the `stale` services not asked for lately: one refresh in
    flight per service. The rows not asked for are locked and stamped together (two
    statements however many services a page shows); a reader that finds one locked leaves
    it to the one holding it, which asks."""
    now = timezone.now()
    not_asked = Q(requested_at__isnull=True) | Q(requested_at__lt=now - ASKED)
    with transaction.atomic():
        ids = list(
            OnCallNow.objects.filter(not_asked, service_id__in=stale)
            .select_for_update(skip_locked=True)
            .values_list("service_id", flat=True)
        )
        if ids:
            OnCallNow.objects.filter(service_id__in=ids).update(requested_at=now)
    if ids:
        task(REFRESH_ON_CALL).delay(ids)


def refresh(service_ids: list[int]) -> None:
    services = PagerDutyService.objects.select_related("account").filter(
        pk__in=service_ids, account__isnull=False
    )
    for service in services:
        if service.account is not None and service.account.needs_reconnect:
            continue  # its access is gone: what was last known stays, shown "as of"
        asked = _ask_pagerduty(service)
        if asked is None:
            continue
        OnCallNow.objects.filter(service=service).update(
            escalation_policy=asked.policy[:255],
            names=asked.names,
            problem=asked.problem[:500],
            urgency_rule=asked.urgency_rule,
            checked_at=timezone.now(),
        )
        transaction.on_commit(partial(_forget, service.pk))


class Asked(NamedTuple):
    """What PagerDuty said of a service: its escalation policy, the names on call at level
    one, why they are unknown, and its `incident_urgency_rule` ({} when unknown)."""

    policy: str
    names: list[str]
    problem: str
    urgency_rule: dict[str, Any]


def _ask_pagerduty(service: PagerDutyService) -> Asked | None:
    """What PagerDuty says of `service` (the GET that names its policy carries its urgency
    rule too); None if PagerDuty withdrew the account's access just now (what was last
    known stays)."""
    api = AccountApi(service.account)  # type: ignore[arg-type]  # filtered to OAuth ones
    rule: dict[str, Any] = {}
    try:
        found = api.get_service(service.pd_service_id)
        rule = _rule(found.get("incident_urgency_rule"))
        policy = found.get("escalation_policy") or {}
        if not policy.get("id"):
            return Asked("", [], "PagerDuty names no escalation policy for this service.", rule)
        entries = api.oncalls([str(policy["id"])])
    except PagerDutyApiError as exc:
        log.info("On-call for service %s unknown: %s", service.pk, exc.message)
        if exc.status == 401 and _account_to_reconnect(api.account.pk):
            return None
        return Asked("", [], f"PagerDuty did not say who is on call: {exc.message}", rule)
    names: list[str] = []
    for entry in entries:
        user = entry.get("user") or {}
        name = str(user.get("name") or user.get("summary") or "")
        if entry.get("escalation_level") == 1 and name and name not in names:
            names.append(name)
    return Asked(str(policy.get("summary") or ""), names, "", rule)


def _rule(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _account_to_reconnect(account_id: int) -> bool:
    return PagerDutyAccount.objects.filter(
        pk=account_id, status=PagerDutyAccount.Status.NEEDS_RECONNECT
    ).exists()
