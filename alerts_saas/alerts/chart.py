"""The alert chart's data: the count in the window over the chart's span, read from the
count store's buckets (`counting`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from alerts_saas.alerts.counting import BUCKETS_PER_WINDOW, CounterSet, chart_span, counts
from alerts_saas.alerts.models import Alert


@dataclass(frozen=True, slots=True)
class Series:
    """Matching events in the window, sampled over the chart's span."""

    times: list[float]  # epoch seconds
    values: list[int]
    threshold: int


def window_series(alert: Alert, now: datetime, points: int = 240) -> Series:
    """The count in the window at `points` moments over the chart span ending at `now`.

    Rolling sums of the buckets, so each point reads as the alert's evaluation would have
    seen it at that moment (counting started at `Alert.counting_since`).
    """
    counter = CounterSet.of(alert)
    end = now.timestamp()
    start = max(end - chart_span(alert.window_minutes), alert.counting_since.timestamp())
    size = counter.size
    first = int(start // size) - BUCKETS_PER_WINDOW + 1
    last = int(end // size)
    stored = counts().buckets(counter, first, last)
    prefix = [0]
    for bucket in range(first, last + 1):
        prefix.append(prefix[-1] + stored.get(bucket, 0))
    step = max(size, math.ceil((end - start) / points)) if end > start else size
    times: list[float] = []
    values: list[int] = []
    moment = end
    while moment >= start and len(times) < points + 1:
        newest = int(moment // size) - first
        oldest = max(0, newest - BUCKETS_PER_WINDOW + 1)
        times.append(moment)
        values.append(prefix[newest + 1] - prefix[oldest])
        moment -= step
    times.reverse()
    values.reverse()
    return Series(times, values, alert.threshold)
