"""Firings that wait for a person: alerts that do not auto-resolve (`Alert.auto_resolve`).

- When the condition clears, the beat notes when (`note_conditions`, from the beat,
  `evaluation.evaluate`, and a save's check, `evaluation.reevaluate`) and sends nothing;
  when it holds again, the note goes.
- A person resolves the firing in Tripwire (`resolve_by_hand`), any open firing, of any
  alert: it clears as "Resolved in Tripwire" and the resolves go out. For a host that an
  absence alert pages about and that was taken down for good, a person stops watching it
  (`stop_watching`): an absence alert's firing never clears by time alone.
- Or in PagerDuty: once every incident the firing opened is resolved there, it clears as
  "Resolved in PagerDuty" and sends nothing (`incident_saved`). The incidents app knows
  nothing of alerts (alerts imports it, not the other way), so this listens to its
  Incident's post_save, which both ways of learning a status (a webhook, PagerDuty's answer
  to our own REST call) end with.

A firing resolved while its condition still holds fires again at the next check, with a
new incident: what a person resolved was the old one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from alerts_saas.accounts.models import User
from alerts_saas.alerts import firings
from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.payload import group_label
from alerts_saas.alerts.resolves import Resolves
from alerts_saas.audit import recorder as audit
from alerts_saas.audit.models import Action
from alerts_saas.ingest.models import ApiToken
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.incidents.lookup import incidents_of
from integrations.pagerduty.incidents.models import Incident, IncidentStatus
from integrations.pagerduty.models import Delivery, EventAction

log = logging.getLogger(__name__)


def note_conditions(noting: Sequence[tuple[Firing, bool | None]], now: datetime) -> None:
    """Note on open firings (one per value, for an alert that groups) when their condition
    cleared (`holds` False), or that it holds again (True); None (can't tell yet) changes
    nothing. Compare-and-set: the first clearing's time stays until the condition holds
    again. One update for those whose condition cleared, one for those where it holds
    again, however many hosts. Their alerts' rows are locked first, in one query
    (`firings.lock_alerts`), as every writer of firings does: the beat's update, locking
    firings without the alert, waited for a firing a save held (its own note, under the
    alert's row) while the save waited for a firing the update held (its `sync_targets_of`
    takes them all): PostgreSQL aborted one as a deadlock."""
    cleared = [f for f, holds in noting if holds is False and f.condition_cleared_at is None]
    again = [f for f, holds in noting if holds and f.condition_cleared_at is not None]
    if not cleared and not again:
        return
    changing = cleared + again
    with transaction.atomic():
        firings.lock_alerts({f.organization_id for f in changing}, {f.alert_id for f in changing})
        if cleared:
            Firing.objects.filter(
                organization_id__in={f.organization_id for f in cleared},
                pk__in=[f.pk for f in cleared],
                cleared_at__isnull=True,
                condition_cleared_at__isnull=True,
            ).update(condition_cleared_at=now)
        if again:
            Firing.objects.filter(
                organization_id__in={f.organization_id for f in again},
                pk__in=[f.pk for f in again],
                condition_cleared_at__isnull=False,
            ).update(condition_cleared_at=None)
    for firing in cleared:
        firing.condition_cleared_at = now
    for firing in again:
        firing.condition_cleared_at = None


class Resolved(NamedTuple):
    """A firing resolved by hand, and how many resolves that sends to PagerDuty (none for
    a firing whose incidents were held by a mute, refused, or resolved already), `unseen`
    of them for triggers PagerDuty accepted for services Tripwire can't see, for the reason
    `why` (`Resolves`)."""

    firing: Firing
    resolves: int
    unseen: int = 0
    why: str = ""

    @property
    def sent(self) -> Resolves:
        return Resolves.counted(self.resolves, self.unseen, self.why)


def resolve_by_hand(
    alert: Alert, firing_id: int | None, user: User | None, token: ApiToken | None = None
) -> Resolved | None:
    """Clear the alert's open firing `firing_id` as resolved in Tripwire by `user`, or by
    the API `token`, and send its resolves, with an entry in the audit log; the firing, its
    resolves and the entry name who (the resolves from their INSERT: named before the engine
    sends them and PagerDuty's webhook asks who resolved the incident, `incidents.activity`).
    The firing and its count of resolves, or None if it was not open (resolved meanwhile,
    or not this alert's). Call in a transaction holding the alert's row."""
    firing = Firing.objects.filter(pk=firing_id or 0, alert=alert, cleared_at__isnull=True).first()
    if firing is None:
        return None
    # Read before clearing: which of its incidents Tripwire can't see, and why.
    before = resolves_of([firing])
    now = timezone.now()
    cleared, resolves = firings.clear_firings(
        [firing], Firing.ClearReason.RESOLVED, now, by=user, by_token=token
    )
    if not cleared:
        return None
    opened = firing.opened_at.astimezone(UTC).strftime("%d %b %H:%M:%S UTC")
    change = {"field": "firing", "before": f"open since {opened}", "after": "resolved by hand"}
    audit.record(alert, Action.CHANGED, [change], force_new=True)
    return Resolved(firing, resolves, before.unseen, before.why)


def resolves_of(open_firings: Sequence[Firing]) -> Resolves:
    """The resolves clearing `open_firings` sends, one per incident they have open in
    PagerDuty (none for a page a mute held, a refused trigger, or one resolved already),
    told apart by whether Tripwire sees those incidents (`Resolves`)."""
    if not open_firings:
        return Resolves()
    triggers = engine.open_triggers(_deliveries_of(open_firings))
    return Resolves.of(open_firings[0].organization_id, triggers)


def _deliveries_of(open_firings: Sequence[Firing]) -> QuerySet[Delivery]:
    return Delivery.objects.filter(
        organization_id__in={f.organization_id for f in open_firings},
        firing_id__in=[f.pk for f in open_firings],
    )


def stop_watching_sends(alert: Alert, value: str) -> str:
    """What `stop_watching` the value will send to PagerDuty, in words ("its incident is
    being resolved in PagerDuty"). Read before it, in its transaction."""
    firing = None
    if "\x00" not in value:  # as `stop_watching`: PostgreSQL can't ask for a NUL
        firing = Firing.objects.filter(
            organization_id=alert.organization_id, alert=alert, group=value, cleared_at=None
        ).first()
    if firing is None:
        return "it had no open firing"
    sends = resolves_of([firing])
    if not sends.total:
        return "no incident was open in PagerDuty for it, so nothing was sent there"
    return sends.sending()


def stop_watching(
    alert: Alert, value: str, user: User | None, token: ApiToken | None = None
) -> bool:
    """Stop watching one value of the alert's group field (a host taken down for good): its
    open firing, if any, is resolved in Tripwire by `user` or the API `token` (the firing
    and its resolves name them), and the value is forgotten, its counts with it, until a
    matching event has it again; with an entry in the audit log (`user` None: an API
    token's, which the entry names). False if the value was neither seen nor firing. Call
    in a transaction holding the alert's row."""
    if "\x00" in value:  # kept by none (ingest keeps a NUL as U+FFFD); PostgreSQL can't ask
        return False
    counter = CounterSet.of(alert)
    seen = any(g.value == value for g in counts().groups([counter]).get(counter, []))
    firing = Firing.objects.filter(
        organization_id=alert.organization_id, alert=alert, group=value, cleared_at__isnull=True
    ).first()
    if firing is None and not seen:
        return False
    if firing is not None:
        firings.clear_firing(
            firing, Firing.ClearReason.RESOLVED, timezone.now(), by=user, by_token=token
        )
    counts().forget(counter, [value])
    field = group_label(alert)
    change = {"field": field, "before": f"{value} watched", "after": "no longer watched"}
    audit.record(alert, Action.CHANGED, [change], force_new=True)
    return True


def incident_saved(sender: type[Incident], instance: Incident, **kwargs: Any) -> None:
    """post_save of Incident: a resolved incident may be the last open one of a firing that
    waits for a person. Failing here never stops the incident's own update (logged)."""
    if instance.status != IncidentStatus.RESOLVED:
        return
    try:
        with transaction.atomic():
            clear_if_resolved_in_pagerduty(instance)
    except Exception:
        log.exception("Clearing the firing of resolved incident %s failed", instance.pk)


def clear_if_resolved_in_pagerduty(incident: Incident) -> Firing | None:
    """Clear the open firing whose trigger opened `incident`, if its alert does not
    auto-resolve and PagerDuty has resolved every incident it still has open; the firing
    cleared, or None. An incident we can't hear of (a pasted key's service) keeps it open."""
    found_firing = (
        Delivery.objects.filter(
            organization_id=incident.organization_id,
            dedup_key=incident.dedup_key,
            service_id=incident.service_id,
            event_action=EventAction.TRIGGER,
            firing__cleared_at__isnull=True,
            firing__alert__auto_resolve=False,
        )
        .values_list("firing_id", "firing__alert_id")
        .first()
    )
    if found_firing is None:
        return None
    firing_id, alert_id = found_firing
    # The alert's row before its firing, as every writer takes them (`firings.lock_alerts`).
    firings.lock_alerts([incident.organization_id], [alert_id])
    # Locked before the incidents are read: two incidents of one firing resolved at the same
    # moment are saved in two transactions, each blind to the other's until it commits; the
    # second to take the lock reads the first's resolve (read committed) and clears it.
    firing = (
        Firing.objects.select_for_update(no_key=True)
        .filter(pk=firing_id, cleared_at__isnull=True)
        .first()
    )
    if firing is None:
        return None
    triggers = engine.open_triggers(firing.deliveries.all())
    found = incidents_of(incident.organization_id, triggers)
    if not all(
        t.service_id is not None
        and (known := found.get((t.service_id, t.dedup_key))) is not None
        and not known.is_open
        for t in triggers
    ):
        return None
    if not firings.clear_firing(firing, Firing.ClearReason.INCIDENT_RESOLVED, timezone.now()):
        return None
    return firing
