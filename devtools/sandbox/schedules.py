"""On-call schedules and who is on call: the data behind ``GET /oncalls`` and assignments.

A schedule is one rotation layer: its users take turns in fixed-length shifts counted from
``start``. Escalation policies list, per level, the schedules they notify
(``EscalationPolicy.levels``). Everything is computed from the clock, so the seed gives the
same answer for the same instant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state import EscalationPolicy, Store

WEEK = 7 * 24 * 3600
MAX_FUTURE = timedelta(days=90)  # "On-call shifts are limited to 90 days in the future."


@dataclass
class Schedule:
    id: str
    account_id: str
    name: str
    user_ids: list[str]
    start: datetime
    shift_seconds: int = WEEK
    time_zone: str = "Etc/UTC"


@dataclass(frozen=True)
class OnCall:
    """One user on call for one level of one policy through one schedule, start ≤ t < end."""

    policy_id: str
    level: int
    schedule_id: str
    user_id: str
    start: datetime
    end: datetime


def shifts(
    schedule: Schedule, since: datetime, until: datetime
) -> list[tuple[str, datetime, datetime]]:
    """``(user_id, start, end)`` of every shift overlapping ``[since, until]``."""
    if not schedule.user_ids or until < schedule.start:
        return []
    length = timedelta(seconds=schedule.shift_seconds)
    first = max(0, math.floor((since - schedule.start) / length))
    last = math.floor((until - schedule.start) / length)
    found = []
    for k in range(first, last + 1):
        start = schedule.start + k * length
        found.append((schedule.user_ids[k % len(schedule.user_ids)], start, start + length))
    return found


def oncalls(
    st: Store, policies: list[EscalationPolicy], since: datetime, until: datetime
) -> list[OnCall]:
    """Every on-call of ``policies`` in the range, by policy, level, then start."""
    found: list[OnCall] = []
    for policy in policies:
        for level, schedule_ids in enumerate(policy.levels, start=1):
            for schedule_id in schedule_ids:
                schedule = st.schedules[schedule_id]
                for user_id, start, end in shifts(schedule, since, until):
                    found.append(OnCall(policy.id, level, schedule_id, user_id, start, end))
    return found


def on_call_now(st: Store, policy: EscalationPolicy, level: int, at: datetime) -> list[str]:
    """User ids on call at ``level`` (1-based) of ``policy`` at ``at``; may be empty."""
    if not 1 <= level <= len(policy.levels):
        return []
    users: list[str] = []
    for schedule_id in policy.levels[level - 1]:
        for user_id, _, _ in shifts(st.schedules[schedule_id], at, at):
            if user_id not in users:
                users.append(user_id)
    return users
