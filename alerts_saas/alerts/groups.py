"""The values an alert that groups has seen, as its page lists them: each with its count
in the window and its state, the firing ones first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from alerts_saas.alerts.counting import CounterSet, counts, forget_after
from alerts_saas.alerts.models import Alert, Firing, window_label
from alerts_saas.alerts.payload import group_label, group_words
from alerts_saas.alerts.watching import watches_nothing

GROUPS_SHOWN = 200  # rows on the page; the firing ones always come first


@dataclass(frozen=True, slots=True)
class GroupRow:
    value: str
    shown: str  # the value in words ("web-3", "no host")
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    firing: Firing | None

    @property
    def is_firing(self) -> bool:
        return self.firing is not None


@dataclass(frozen=True, slots=True)
class Groups:
    field: str  # what the alert counts separately for, e.g. "host"
    rows: list[GroupRow]  # the firing ones first, then by value; at most GROUPS_SHOWN
    seen: int  # values counted now
    firing: int  # of them, firing
    limit: int
    forgotten_after: str  # "12 windows (1 hour)"
    watches_nothing: bool = False  # an absence alert with no value: it can't fire

    @property
    def firing_words(self) -> str:
        return values_words(self.field, self.firing)

    @property
    def seen_words(self) -> str:
        return values_words(self.field, self.seen)

    @property
    def firing_shown(self) -> list[str]:
        """The values firing, as the page shows them."""
        return [row.shown for row in self.rows if row.is_firing]

    @property
    def first_since(self) -> datetime | None:
        """When the first of the values firing now began to fire."""
        return min((r.firing.opened_at for r in self.rows if r.firing is not None), default=None)

    @property
    def limit_reached(self) -> bool:
        return self.seen >= self.limit

    @property
    def more(self) -> int:
        return max(0, self.seen - len(self.rows))


def groups_of(alert: Alert, open_firings: list[Firing], now: float) -> Groups | None:
    """The alert's values and their states (None for an alert that does not group).
    Reads the count store: raises redis.RedisError when it can't be read."""
    if not alert.group_by:
        return None
    counter = CounterSet.of(alert)
    seen = {g.value: g for g in counts().groups([counter]).get(counter, [])}
    by_value = {f.group: f for f in open_firings}
    values = sorted(seen.keys() | by_value.keys(), key=lambda v: (v not in by_value, v))
    shown = values[:GROUPS_SHOWN]
    totals = counts().totals([counter.in_group(v) for v in shown], now)
    field = group_label(alert)
    rows = [
        GroupRow(
            value=value,
            shown=group_words(field, value),
            count=totals[counter.in_group(value)],
            first_seen=_moment(seen[value].first_seen) if value in seen else None,
            last_seen=_moment(seen[value].last_seen) if value in seen else None,
            firing=by_value.get(value),
        )
        for value in shown
    ]
    windows = settings.ALERT_GROUP_FORGET_WINDOWS
    return Groups(
        field=field,
        rows=rows,
        seen=len(values),
        firing=len(by_value),
        limit=settings.ALERT_GROUP_LIMIT,
        forgotten_after=(
            f"{windows} window{'s' if windows != 1 else ''} "
            f"({window_label(forget_after(alert.window_minutes) // 60)})"
        ),
        watches_nothing=watches_nothing(alert, len(values)),
    )


def values_words(field: str, count: int) -> str:
    """So many values of a group field: "1 host", "2 sources", "3 status values"."""
    if count == 1:
        return f"1 {field}"
    return f"{count:,} {field} values" if field.endswith("s") else f"{count:,} {field}s"


def _moment(epoch: float) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None
