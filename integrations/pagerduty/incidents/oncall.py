"""Who a service would page right now: its escalation policy's first level, from
PagerDuty's `GET /oncalls`. Read from the database by the pages; refreshed by a task when
older than `FRESH`, at most one request in flight per service (compare-and-set)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from integrations.pagerduty.incidents.models import OnCallNow
from integrations.pagerduty.models import PagerDutyService
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError
from integrations.pagerduty.task_names import task

log = logging.getLogger(__name__)
REFRESH_ON_CALL = "integrations.pagerduty.incidents.tasks.refresh_on_call"  # tasks.py's
FRESH = timedelta(minutes=2)
ASKED = timedelta(seconds=30)  # a refresh asked for this recently is not asked again


def on_call(services: Iterable[PagerDutyService]) -> dict[int, OnCallNow]:
    """What is known now of who the OAuth-connected `services` page (one query), asking
    for a refresh of what is missing or stale."""
    oauth = [s for s in services if s.account_id is not None]
    if not oauth:
        return {}
    known = {row.service_id: row for row in OnCallNow.objects.filter(service__in=oauth)}
    now = timezone.now()
    stale = [
        s.pk
        for s in oauth
        if s.pk not in known
        or known[s.pk].checked_at is None
        or now - known[s.pk].checked_at > FRESH  # type: ignore[operator]
    ]
    if stale:
        _ask(oauth, stale, known)
    return known


def _ask(services: list[PagerDutyService], stale: list[int], known: dict[int, OnCallNow]) -> None:
    now = timezone.now()
    OnCallNow.objects.bulk_create(
        [
            OnCallNow(organization_id=s.organization_id, service=s)
            for s in services
            if s.pk in stale and s.pk not in known
        ],
        ignore_conflicts=True,
    )
    not_asked = Q(requested_at__isnull=True) | Q(requested_at__lt=now - ASKED)
    ids = [  # one compare-and-set each (an alert has a few services): one refresh in flight
        pk
        for pk in stale
        if OnCallNow.objects.filter(not_asked, service_id=pk).update(requested_at=now)
    ]
    if ids:
        task(REFRESH_ON_CALL).delay(ids)


def refresh(service_ids: list[int]) -> None:
    services = PagerDutyService.objects.select_related("account").filter(
        pk__in=service_ids, account__isnull=False
    )
    for service in services:
        policy, names, problem = _ask_pagerduty(service)
        OnCallNow.objects.filter(service=service).update(
            escalation_policy=policy[:255],
            names=names,
            problem=problem[:500],
            checked_at=timezone.now(),
        )


def _ask_pagerduty(service: PagerDutyService) -> tuple[str, list[str], str]:
    api = AccountApi(service.account)  # type: ignore[arg-type]  # filtered to OAuth ones
    try:
        policy = api.get_service(service.pd_service_id).get("escalation_policy") or {}
        if not policy.get("id"):
            return "", [], "PagerDuty names no escalation policy for this service."
        entries = api.oncalls([str(policy["id"])])
    except PagerDutyApiError as exc:
        log.info("On-call for service %s unknown: %s", service.pk, exc.message)
        return "", [], f"PagerDuty did not say who is on call: {exc.message}"
    names: list[str] = []
    for entry in entries:
        user = entry.get("user") or {}
        name = str(user.get("name") or user.get("summary") or "")
        if entry.get("escalation_level") == 1 and name and name not in names:
            names.append(name)
    return str(policy.get("summary") or ""), names, ""
