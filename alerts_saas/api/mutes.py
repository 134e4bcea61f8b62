"""/mute-windows: list, read, create and end mute windows, as the alert page's "Mute…" and
Settings → Integrations do.

What is sent is judged by the pages' own forms (`MuteNowForm`, `ScheduleForm`), so a window
is held to the same rules (at most 31 days ahead, a day chosen, a start unlike the end, a
known time zone); their errors come back under the API's field names. Ending one does what
"End now" does: what it held pages at once if still firing (`mute_release`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from ninja import Query, Router, Schema, Status
from pydantic import BaseModel, Field

from alerts_saas.alerts import mute_release, mutes
from alerts_saas.alerts.models import Alert, MuteWindow
from alerts_saas.alerts.mute_forms import MuteNowForm, ScheduleForm
from alerts_saas.api import lengths
from alerts_saas.api.auth import READ, WRITE, TokenRequest
from alerts_saas.api.errors import Problems
from alerts_saas.api.fields import BodyId, Id
from alerts_saas.api.paging import Paging, page_of
from alerts_saas.api.schemas import Closed, FieldProblem, InvalidOut, PageOut
from alerts_saas.ingest.parsing import Refused
from alerts_saas.ingest.schema import ErrorOut
from integrations.pagerduty.models import PagerDutyService

router = Router(tags=["Mute windows"])

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# The forms' fields: where they are in the API's body.
ONCE_FIELDS = {"length": "minutes", "until": "until", "reason": "reason"}
WEEKLY_FIELDS = {
    "weekdays": "weekly.days",
    "start": "weekly.start",
    "end": "weekly.end",
    "time_zone": "weekly.time_zone",
    "reason": "reason",
}


class WeeklyIn(Closed):
    days: list[Day] = Field(
        description='The days it starts on, e.g. ["sun"]; a day named twice counts once.'
    )
    start: str = Field(description="From, on the zone's clock: HH:MM.", examples=["02:00"])
    end: str = Field(
        description="To, HH:MM; earlier than `start`: it ends the next day.", examples=["04:00"]
    )
    time_zone: str = Field(default="UTC", description="An IANA zone, e.g. Europe/Berlin.")


class MuteWindowIn(Closed):
    """What to mute (an alert, or a service for every alert paging it) and when: from now
    for `minutes` or `until` a time, or `weekly`. Exactly one subject and one way."""

    alert_id: BodyId | None = None
    service_id: BodyId | None = None
    minutes: Literal[30, 60, 120, 240] | None = Field(default=None, description="From now.")
    until: datetime | None = Field(
        default=None,
        description="From now until this time (ISO 8601; UTC without an offset), at most 31 "
        "days ahead.",
    )
    weekly: WeeklyIn | None = None
    reason: str = Field(
        default="",
        description="Why, shown beside the mute.",
        json_schema_extra=lengths.most(MuteNowForm.base_fields["reason"]),
    )


class WeeklyOut(BaseModel):
    days: list[Day]
    start: str
    end: str
    time_zone: str
    words: str = Field(description='In words, e.g. "Sun 02:00 to 04:00 (Europe/Berlin)".')


class MuteWindowOut(BaseModel):
    id: int
    alert_id: int | None
    service_id: int | None
    subject: str = Field(description="What it mutes, in words.")
    kind: Literal["once", "weekly"]
    starts_at: datetime | None = Field(description="A one-off window's start; null if weekly.")
    ends_at: datetime | None = Field(description="A one-off window's end; null if weekly.")
    weekly: WeeklyOut | None
    reason: str
    muting_now: bool
    current_or_next: list[datetime] | None = Field(
        description="[start, end] of the stretch muting now, else of the next one; null once "
        "a one-off window is over."
    )
    created_at: datetime


class MuteWindowPage(PageOut):
    items: list[MuteWindowOut]


class MuteFilters(Schema):
    alert_id: Id | None = None
    service_id: Id | None = None


def _rows(request: TokenRequest) -> QuerySet[MuteWindow]:
    return MuteWindow.objects.filter(organization=request.auth.organization).select_related(
        "alert", "service"
    )


def _shown(window: MuteWindow, now: datetime) -> MuteWindowOut:
    span = mutes.next_span(window, now)
    weekly = None
    if window.is_weekly:
        start, end = span_clock(window)
        weekly = WeeklyOut(
            days=[DAYS[int(d)] for d in sorted(window.weekdays)],
            start=start,
            end=end,
            time_zone=window.time_zone,
            words=mutes.schedule_words(window),
        )
    return MuteWindowOut(
        id=window.pk,
        alert_id=window.alert_id,
        service_id=window.service_id,
        subject=window.subject_name,
        kind="weekly" if window.is_weekly else "once",
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        weekly=weekly,
        reason=window.reason,
        muting_now=span is not None and span[0] <= now,
        current_or_next=list(span) if span is not None else None,
        created_at=window.created_at,
    )


def span_clock(window: MuteWindow) -> tuple[str, str]:
    """A weekly window's start and end on its zone's clock, HH:MM."""
    start = window.start_time
    assert start is not None
    minutes = (start.hour * 60 + start.minute + (window.duration_minutes or 0)) % (24 * 60)
    return f"{start:%H:%M}", f"{minutes // 60:02d}:{minutes % 60:02d}"


@router.get("/mute-windows", auth=READ, response={200: MuteWindowPage, **ERRORS, 400: InvalidOut})
def list_mute_windows(
    request: TokenRequest, filters: Query[MuteFilters], paging: Query[Paging]
) -> dict[str, Any]:
    """The windows not over yet (weekly ones never are), oldest first: what the alert
    pages and Settings → Integrations show."""
    now = timezone.now()
    rows = _rows(request).filter(Q(ends_at__gt=now) | Q(ends_at__isnull=True))
    if filters.alert_id is not None:
        rows = rows.filter(alert_id=filters.alert_id)
    if filters.service_id is not None:
        rows = rows.filter(service_id=filters.service_id)
    windows, facts = page_of(request, rows.order_by("created_at", "pk"), paging)
    return {**facts, "items": [_shown(w, now) for w in windows]}


@router.get("/mute-windows/{mute_window_id}", auth=READ, response={200: MuteWindowOut, **ERRORS})
def get_mute_window(request: TokenRequest, mute_window_id: int) -> MuteWindowOut:
    """One window, over or not (an ended one-off window is kept, with its end, for
    `MUTE_RETENTION_DAYS`, 90 days by default)."""
    window = _rows(request).filter(pk=mute_window_id).first()
    if window is None:
        raise _missing(mute_window_id)
    return _shown(window, timezone.now())


def _missing(mute_window_id: int) -> Refused:
    return Refused(404, f"There is no mute window {mute_window_id} in this organization.")


def _refused(field: str | None, message: str) -> Problems:
    return Problems("Nothing was muted.", [FieldProblem(field=field, message=message)])


def _subject(request: TokenRequest, body: MuteWindowIn) -> dict[str, Any]:
    """The alert or the service to mute, of the token's organization."""
    organization = request.auth.organization
    if body.alert_id is not None and body.service_id is None:
        alert = Alert.objects.filter(organization=organization, pk=body.alert_id).first()
        if alert is None:
            raise _refused("alert_id", f"There is no alert {body.alert_id} in this organization.")
        return {"alert": alert}
    if body.service_id is not None and body.alert_id is None:
        services = PagerDutyService.objects.filter(organization=organization)
        service = services.filter(pk=body.service_id).first()
        if service is None:
            raise _refused(
                "service_id", f"There is no service {body.service_id} in this organization."
            )
        return {"service": service}
    raise _refused("alert_id", "Give an alert_id or a service_id (one of them).")


def _judged(body: MuteWindowIn) -> tuple[dict[str, Any], bool]:
    """The form's cleaned data, and whether the window is weekly; `Problems` if refused."""
    once = body.minutes is not None or body.until is not None
    if once == (body.weekly is not None):
        raise _refused(
            None,
            "Say when: minutes (30, 60, 120 or 240) or until (a time) to mute from now, or "
            "weekly for a schedule; one of them.",
        )
    form: MuteNowForm | ScheduleForm
    if body.weekly is not None:
        weekly = body.weekly
        data = {
            "weekly-weekdays": [str(DAYS.index(day)) for day in dict.fromkeys(weekly.days)],
            "weekly-start": [weekly.start],
            "weekly-end": [weekly.end],
            "weekly-time_zone": [weekly.time_zone],
            "weekly-reason": [body.reason],
        }
        form, fields = ScheduleForm(MultiValueDict(data), prefix="weekly"), WEEKLY_FIELDS
    else:
        length = str(body.minutes) if body.minutes is not None else "until"
        until = _utc(body.until).isoformat() if body.until is not None else ""
        data = {"mute-length": [length], "mute-until": [until], "mute-reason": [body.reason]}
        form, fields = MuteNowForm(MultiValueDict(data), prefix="mute"), ONCE_FIELDS
    if not form.is_valid():
        raise Problems(
            "Nothing was muted.",
            [
                FieldProblem(field=fields.get(name), message=str(message))
                for name, messages in form.errors.items()
                for message in messages
            ],
        )
    return form.cleaned_data, body.weekly is not None


def _utc(moment: datetime) -> datetime:
    """`until` in UTC (without an offset it is UTC): PostgreSQL holds offsets to ±15:59
    only, and ISO 8601 allows ±23:59."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999, moved past the calendar's ends
        raise _refused("until", "is not a time we can mute until: at most 31 days ahead.") from None


@router.post("/mute-windows", auth=WRITE, response={201: MuteWindowOut, **ERRORS, 400: InvalidOut})
def create_mute_window(request: TokenRequest, body: MuteWindowIn) -> Status:
    """Mute an alert, or a service for every alert paging it. While muted, firings open and
    are shown but page nobody; one still open when the mute ends pages then. An incident
    already open in PagerDuty stays open."""
    subject = _subject(request, body)
    data, weekly = _judged(body)
    fields = ("weekdays", "duration_minutes", "time_zone") if weekly else ("starts_at", "ends_at")
    window = MuteWindow.objects.create(
        organization=request.auth.organization,
        reason=data.get("reason", ""),
        start_time=data["start"] if weekly else None,
        **{field: data[field] for field in fields},
        **subject,
    )
    return Status(201, _shown(window, timezone.now()))


@router.delete("/mute-windows/{mute_window_id}", auth=WRITE, response={204: None, **ERRORS})
def end_mute_window(request: TokenRequest, mute_window_id: int) -> Status:
    """End a mute now, as "End now" does: a one-off window that started is kept with its
    end set to now; a weekly one, or one not started, is removed. What it held pages at
    once if the firing is still open."""
    now = timezone.now()
    with transaction.atomic():
        window = _rows(request).select_for_update(of=("self",)).filter(pk=mute_window_id).first()
        if window is None:
            raise _missing(mute_window_id)
        if not window.is_weekly and window.starts_at and window.starts_at < now:
            if window.ends_at is not None and window.ends_at > now:
                window.ends_at = now
                window.save(update_fields=["ends_at"])
        else:
            window.delete()
    mute_release.release_due(request.auth.organization.pk)
    return Status(204, None)
