"""Deleting an organization (Settings → General → Delete this organization, owners only).

The confirmation page counts what goes (`contents`: one query per model, whatever the
organization's size) and what still pages (`paging_now`). Paging still under way stops the
deletion: an open firing, or an event to PagerDuty queued or being sent, would leave an
incident in PagerDuty that nobody could resolve from Tripwire any more. `delete_organization`
checks that again under the rows' locks, in the transaction that deletes, so a firing opened
after the page was shown stops it too. Resolving a firing by hand does not last while its
condition holds (an absence alert whose events stopped fires again at the next check), so the
page offers what does: `disable_firing_alerts`, whose resolves go out at once; once they are
sent, the deletion can go ahead.

In PagerDuty, our webhook subscriptions on the organization's services are deleted by a
worker once the deletion commits (as removing a service does; retried while PagerDuty can't
be reached, so the owner's click never waits on it), so PagerDuty stops sending webhooks we
would refuse. Nothing else changes there: neither its published API nor the sandbox has a way for
an app to give up its own access, so the page tells the owner to remove the app in PagerDuty.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from django.db import OperationalError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone

from alerts_saas.accounts.models import Invitation, Membership, Organization, User
from alerts_saas.alerts import firings as firing_changes
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.audit.models import Entry
from alerts_saas.ingest.models import ApiToken, IngestKey
from alerts_saas.locks import lock_all_rows_to_delete
from integrations.pagerduty.incidents import subscriptions
from integrations.pagerduty.models import (
    Delivery,
    PagerDutyAccount,
    PagerDutyService,
    retrying,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

log = logging.getLogger(__name__)

IN_FLIGHT = (Delivery.Status.QUEUED, Delivery.Status.SENDING)
FIRING_ALERTS_NAMED = 10  # the page links these; the alert list has the rest
DEADLOCK = "40P01"
DISABLE_ADVICE = (
    "Disable the firing alerts (the button below does it): that resolves their incidents in "
    "PagerDuty, and a disabled alert can't fire again. "
)


class DeletionRefused(Exception):
    """Why the organization was not deleted, in words for the owner; nothing was deleted."""


@dataclass(frozen=True)
class Contents:
    """What is deleted with the organization, counted."""

    alerts: int
    firings: int
    deliveries: int
    ingest_keys: int
    api_tokens: int
    members: int
    pending_invitations: int
    pagerduty_accounts: int
    connected_services: int
    pasted_services: int
    activity_entries: int

    @property
    def pagerduty_services(self) -> int:
        return self.connected_services + self.pasted_services


@dataclass(frozen=True)
class Paging:
    """Paging still under way in the organization: while any, it cannot be deleted."""

    open_firings: int = 0
    held_firings: int = 0  # of the open ones: opened in a mute window, not paged yet
    in_flight_deliveries: int = 0
    retrying_deliveries: int = 0  # of those: queued again after a failed attempt
    # When the last of them is due, if later than now (a test incident's automatic resolve
    # waits 10 minutes; a retry, its backoff).
    last_due: datetime | None = None
    firing_alerts: list[Alert] = field(default_factory=list)  # up to FIRING_ALERTS_NAMED
    more_firing_alerts: bool = False

    @property
    def blocks(self) -> bool:
        return bool(self.open_firings or self.in_flight_deliveries)


def contents(organization: Organization) -> Contents:
    """What goes with `organization`: one count per model (firings and deliveries, as the
    services, in one query each)."""
    org = organization.pk
    firings = Firing.objects.filter(organization_id=org).count()
    services = PagerDutyService.objects.filter(organization_id=org).aggregate(
        connected=Count("pk", filter=Q(account__isnull=False)),
        pasted=Count("pk", filter=Q(account__isnull=True)),
    )
    return Contents(
        alerts=Alert.objects.filter(organization_id=org).count(),
        firings=firings,
        deliveries=Delivery.objects.filter(organization_id=org).count(),
        ingest_keys=IngestKey.objects.filter(organization_id=org).count(),
        api_tokens=ApiToken.objects.filter(organization_id=org).count(),
        members=Membership.objects.filter(organization_id=org).count(),
        pending_invitations=Invitation.objects.pending().filter(organization_id=org).count(),
        pagerduty_accounts=PagerDutyAccount.objects.filter(organization_id=org).count(),
        connected_services=services["connected"],
        pasted_services=services["pasted"],
        activity_entries=Entry.objects.filter(organization_id=org).count(),
    )


def paging_now(organization: Organization) -> Paging:
    """Open firings and unfinished deliveries (two queries; a third names the firing
    alerts when there are some)."""
    org = organization.pk
    firings = Firing.objects.filter(organization_id=org, cleared_at__isnull=True).aggregate(
        open=Count("pk"), held=Count("pk", filter=Q(held=True))
    )
    deliveries = Delivery.objects.filter(organization_id=org, status__in=IN_FLIGHT).aggregate(
        in_flight=Count("pk"),
        retrying=Count("pk", filter=retrying()),
        last_due=Max("next_attempt_at", filter=Q(status=Delivery.Status.QUEUED)),
    )
    last_due = deliveries["last_due"]
    alerts: list[Alert] = []
    if firings["open"]:
        # Through the open firings (their partial index), not a join on the alert's
        # firings: `firings__cleared_at__isnull` also matched alerts that never fired.
        open_ones = Firing.objects.filter(organization_id=org, cleared_at__isnull=True)
        alerts = list(
            Alert.objects.filter(organization_id=org, pk__in=open_ones.values("alert_id"))
            .order_by("name", "pk")
            .only("pk", "name", "organization_id")[: FIRING_ALERTS_NAMED + 1]
        )
    return Paging(
        open_firings=firings["open"],
        held_firings=firings["held"],
        in_flight_deliveries=deliveries["in_flight"],
        retrying_deliveries=deliveries["retrying"],
        last_due=last_due if last_due and last_due > timezone.now() else None,
        firing_alerts=alerts[:FIRING_ALERTS_NAMED],
        more_firing_alerts=len(alerts) > FIRING_ALERTS_NAMED,
    )


class _Late(TypedDict):
    late: bool


@dataclass(frozen=True)
class Disabled:
    """What `disable_firing_alerts` did: the alerts it disabled, the alerts already disabled
    whose open firings it cleared (`already_off`, with `already_off_firings` of them), and
    the resolves it queued (none for a firing held by a mute, refused, or resolved in
    PagerDuty already)."""

    alerts: list[Alert]
    resolves: int
    already_off: list[Alert] = field(default_factory=list)
    already_off_firings: int = 0


def disable_firing_alerts(organization: Organization) -> Disabled:
    """Disable every alert of `organization` that has an open firing, clearing its firings
    as "Alert disabled" and queuing the resolves of their incidents: disabled, an alert can't
    fire again, where one resolved by hand fires again while its condition holds.

    One transaction, the alerts' rows locked once: by `clear_firings`, in pk order before
    their firings, as every writer of firings takes them; the alerts are read after it,
    with any firing opened meanwhile (between the read of the open firings and the lock),
    cleared too. A save per alert, as its Disable button does, so that its receivers run
    (the activity log, ingestion's change token, the paging-problem check)."""
    org = organization.pk
    now = timezone.now()
    with transaction.atomic():
        found = list(Firing.objects.filter(organization_id=org, cleared_at__isnull=True))
        _, resolves = firing_changes.clear_firings(found, Firing.ClearReason.DISABLED, now)
        alerts = _locked_alerts(org, {f.alert_id for f in found})
        late = [a.pk for a in alerts if a.late]  # rare: a firing opened before the lock
        if late:
            opened = Firing.objects.filter(
                organization_id=org, alert_id__in=late, cleared_at__isnull=True
            )
            resolves += firing_changes.clear_firings(
                list(opened), Firing.ClearReason.DISABLED, now
            )[1]
        already_off = [a for a in alerts if not a.enabled]
        for alert in alerts:
            if alert.enabled:
                alert.enabled = False
                alert.save(update_fields=["enabled", "updated_at"])
        off_firings = _cleared_now(org, already_off, now)
    off_ids = {a.pk for a in already_off}
    return Disabled(
        _by_name(a for a in alerts if a.pk not in off_ids),
        resolves,
        _by_name(already_off),
        off_firings,
    )


def _locked_alerts(org: int, alert_ids: set[int]) -> list[WithAnnotations[Alert, _Late]]:
    """The alerts (their rows locked already: `clear_firings`), each with whether one of its
    firings is still open (opened before the lock)."""
    still = Firing.objects.filter(alert_id=OuterRef("pk"), cleared_at__isnull=True)
    return list(
        Alert.objects.select_related("organization")
        .filter(organization_id=org, pk__in=alert_ids)
        .annotate(late=Exists(still))
        .order_by("pk")
    )


def _cleared_now(org: int, alerts: Sequence[Alert], now: datetime) -> int:
    """How many firings of these alerts this clearing cleared (none read when no alert)."""
    if not alerts:
        return 0
    return Firing.objects.filter(
        organization_id=org,
        alert_id__in=[a.pk for a in alerts],
        cleared_at=now,
        clear_reason=Firing.ClearReason.DISABLED,
    ).count()


def _by_name(alerts: Iterable[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: (a.name, a.pk))


def name_matches(organization: Organization, typed: str) -> bool:
    """The typed confirmation: the name exactly, but for spaces around it."""
    return typed.strip() == organization.name.strip()


def delete_organization(organization: Organization, by: User, typed_name: str) -> None:
    """Delete `organization` and everything in it, in one transaction, if `typed_name` is
    its name and no paging is under way; else raise `DeletionRefused` and delete nothing.

    Locks: the organization's alerts' rows first (pk order, `lock_all_rows_to_delete`), then
    the organization's row, FOR UPDATE (the delete needs their key). An alert's row comes
    first everywhere (DESIGN.md, "Locks"): a firing being opened holds its alert's row and
    takes the organization's (FOR KEY SHARE, at its commit) last, so taking the
    organization's row first would deadlock with it; this way the deletion waits for it,
    and then sees the firing.
    Anything written meanwhile that refers to the organization waits for the row and then
    fails, the organization being gone.

    Every model that refers to an organization cascades (none protects), so the delete
    takes the rest with it, its activity log too (the audit recorder records nothing of an
    organization being deleted). Our webhook subscriptions are deleted in PagerDuty by a
    worker once this commits (`subscriptions.unsubscribe_on_commit`); a rolled-back
    deletion keeps them. Its alerts' event counts in Redis are not scanned for: they expire
    with their windows.
    """
    name = organization.name
    try:
        with transaction.atomic():
            lock_all_rows_to_delete(Alert, organization.pk)
            locked = Organization.objects.select_for_update().filter(pk=organization.pk).first()
            if locked is None:
                return  # deleted meanwhile, by another owner: what was asked is done
            if not name_matches(locked, typed_name):
                raise DeletionRefused(
                    f"The name you typed is not “{locked.name}”. Type it exactly as shown "
                    "to delete the organization. Nothing was deleted."
                )
            paging = paging_now(locked)
            if paging.blocks:
                raise DeletionRefused(refusal(paging))
            # Their ids and accounts' tokens are kept now, in rows that outlive the
            # organization (`unsubscriptions`): the accounts go with it.
            subscriptions.unsubscribe_on_commit(
                PagerDutyService.objects.filter(organization_id=locked.pk)
            )
            locked.delete()
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != DEADLOCK:  # psycopg 3
            raise
        raise DeletionRefused(
            "Something changed in the organization while it was being deleted. "
            "Nothing was deleted: try again."
        ) from exc
    log.info("Organization %s (%r) deleted by user %s", organization.pk, name, by.pk)


def refusal(paging: Paging) -> str:
    """Why paging under way stops the deletion, in one message."""
    parts = []
    if paging.open_firings:
        parts.append(_count(paging.open_firings, "firing is", "firings are") + " still open")
    if paging.in_flight_deliveries:
        parts.append(
            _count(paging.in_flight_deliveries, "event to PagerDuty is", "events to PagerDuty are")
            + " still queued or being sent"
        )
    return (
        f"Nothing was deleted: {' and '.join(parts)}. Deleted now, their PagerDuty incidents "
        "would stay open with nobody able to resolve them from Tripwire. "
        + (DISABLE_ADVICE if paging.open_firings else "")
        + "Let the events to PagerDuty be sent, then delete the organization."
    )


def _count(n: int, one: str, many: str) -> str:
    return f"1 {one}" if n == 1 else f"{n} {many}"
