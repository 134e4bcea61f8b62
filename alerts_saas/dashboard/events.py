"""Events received: the last hour's accepted events in a sparkline of minutes and in
numbers per five minutes, beside them how many were refused, and when the last batch came.
One read of the ingest activity (`ingest.activity`: one MGET with Redis), none per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts_saas.ingest import activity
from alerts_saas.ingest.activity import Activity, Stretch

BAR_WIDTH = 4  # the sparkline's units: a bar per minute, a gap of 1
CHART_HEIGHT = 32


@dataclass(frozen=True, slots=True)
class Bar:
    x: int
    y: int
    height: int
    events: int
    start: datetime


@dataclass(frozen=True, slots=True)
class EventsPanel:
    activity: Activity | None  # None: the store can't be read just now
    last_at: datetime | None  # shown with {% timestamp %}, in words and as a time

    @property
    def total(self) -> int:
        """Every event received, refused ones included."""
        return self.activity.total if self.activity is not None else 0

    @property
    def accepted(self) -> int:
        return self.activity.accepted if self.activity is not None else 0

    @property
    def refused(self) -> int:
        return self.activity.refused if self.activity is not None else 0

    @property
    def width(self) -> int:
        return activity.MINUTES * (BAR_WIDTH + 1)

    @property
    def height(self) -> int:
        return CHART_HEIGHT

    @property
    def bars(self) -> list[Bar]:
        """A bar per minute of its accepted events, scaled to the busiest minute; a minute
        with events is never drawn flat."""
        if self.activity is None:
            return []
        busiest = self.activity.busiest_minute or 1
        bars = []
        for i, events in enumerate(self.activity.accepted_per_minute):
            height = max(1, round(events * CHART_HEIGHT / busiest)) if events else 0
            start = self.activity.minute_start(i)
            bars.append(Bar(i * (BAR_WIDTH + 1), CHART_HEIGHT - height, height, events, start))
        return bars

    @property
    def bar_width(self) -> int:
        return BAR_WIDTH

    @property
    def stretches(self) -> list[Stretch]:
        return self.activity.stretches() if self.activity is not None else []


def events_panel(
    organization_id: int, now: datetime, key_last_used: datetime | None
) -> EventsPanel:
    """The hour's activity; the last batch's time from it, or else from the ingest keys'
    last use (kept in the database, to the minute)."""
    found = activity.read(organization_id, now.timestamp())
    last = found.last_at if found is not None else None
    if last is None or (key_last_used is not None and key_last_used > last):
        last = key_last_used
    return EventsPanel(found, last)
