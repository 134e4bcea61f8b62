"""Alerts that watch nothing, so can't fire.

An absence alert counted per value (per host, say) watches each value from its first
matching event: until one comes it has no value that can go quiet, so it can't fire, however
long nothing arrives. The alert page, the alert list and the dashboard all say so from this
one decision (`watches_nothing`), never green "OK" nor "can fire from".
"""

from __future__ import annotations

import logging

import redis
from django.db.models import Exists, OuterRef, Q, QuerySet

from alerts_saas.alerts.counting import CounterSet, counts
from alerts_saas.alerts.models import Alert, ConditionKind, Firing, GroupBy
from alerts_saas.alerts.payload import group_label

log = logging.getLogger(__name__)

# What the decision and the words about it read of an alert: nothing else is loaded.
# The alert list's filter of those that watch nothing (its `state` parameter), which the
# dashboard links to.
LIST_STATE = "watching-nothing"

READ_FIELDS = (
    "pk",
    "organization_id",
    "name",
    "kind",
    "enabled",
    "generation",
    "window_minutes",
    "group_by",
    "group_attribute",
)


def watches_nothing(alert: Alert, values: int) -> bool:
    """Whether `alert` watches nothing, given how many values it has seen or fires for: an
    absence alert counted per value that has none can't fire."""
    return alert.is_absence and alert.group_by != GroupBy.NOTHING and values == 0


# The alerts whose values must be read to know: enabled absence alerts counted per value
# (and, besides, with no open firing: a value firing is a value watched).
MAY_WATCH_NOTHING = Q(enabled=True, kind=ConditionKind.ABSENCE) & ~Q(group_by=GroupBy.NOTHING)


def _may_watch_nothing(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    open_firing = Firing.objects.filter(alert=OuterRef("pk"), cleared_at__isnull=True)
    return alerts.filter(MAY_WATCH_NOTHING).exclude(Exists(open_firing))


def watching_nothing(alerts: QuerySet[Alert]) -> list[Alert] | None:
    """Those of `alerts` (one organization's, enabled) that watch nothing, by name: one
    query, then one read of the count store for all of them; None when the count store
    can't be read just now (the pages then say nothing either way)."""
    found = list(_may_watch_nothing(alerts).only(*READ_FIELDS).order_by("name", "pk"))
    if not found:
        return []
    sets = {alert.pk: CounterSet.of(alert) for alert in found}
    try:
        seen = counts().seen_counts(sets.values())
    except redis.RedisError:
        log.warning("Reading the values seen by %d alerts failed", len(found))
        return None
    return [alert for alert in found if watches_nothing(alert, seen[sets[alert.pk]])]


def field_words(alerts: list[Alert]) -> str:
    """What those alerts watch each of, for "it watches no host yet": their field when they
    share one, else "value"."""
    fields = {group_label(alert) for alert in alerts}
    return fields.pop() if len(fields) == 1 else "value"
