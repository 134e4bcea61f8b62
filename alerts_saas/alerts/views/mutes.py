"""Muting an alert or a service (now, or weekly), ending a mute, and what the pages show of
mutes: the alert page's windows, the list's mark, the dashboard's and the services' lines.

Ending a mute pages at once what it held, if the firing is still open (`mute_release`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from alerts_saas.accounts.access import TenantRequest, for_tenant, tenant_get, tenant_view
from alerts_saas.accounts.times import request_zone
from alerts_saas.alerts import mute_release, mutes
from alerts_saas.alerts.models import Alert, Firing, MuteWindow
from alerts_saas.alerts.mute_forms import MuteNowForm, ScheduleForm
from alerts_saas.alerts.views import quick_mute
from integrations.pagerduty.models import PagerDutyService

RETURN_TO = {"list": "alerts:list", "dashboard": "dashboard:home"}
# "Mute 1 h" beside a firing's Resolve: one of `MuteNowForm`'s durations, in minutes.
QUICK_MUTE = "60"
# Ending a mute pages only what it held back (`mute_release`): a firing paged before it began
# is not paged again, so the question promises no more than that.
END_CONFIRM = (
    "End this mute now? Tripwire pages again from now on; a firing the mute held back pages "
    "now if it is still open."
)
# An alert with no PagerDuty service pages nobody, muted or not: the words don't promise pages.
NOBODY = "it pages nobody, as it has no PagerDuty service"


@dataclass(frozen=True)
class MuteLine:
    """A window as the pages show it: its current or next stretch."""

    window: MuteWindow
    start: datetime
    end: datetime
    active: bool
    pages_nobody: bool = False  # an alert's window, the alert without a PagerDuty service

    @property
    def schedule(self) -> str:
        return mutes.schedule_words(self.window) if self.window.is_weekly else ""

    @property
    def end_label(self) -> str:
        if self.window.is_weekly:
            return "Remove schedule"
        return "End now" if self.active else "Cancel"

    @property
    def confirm(self) -> str:
        if self.pages_nobody and (self.window.is_weekly or self.active):
            ask = "Remove this weekly mute" if self.window.is_weekly else "End this mute now"
            return f"{ask}? Even then {NOBODY}."
        if self.window.is_weekly:
            return (
                "Remove this weekly mute? If it is muting now, Tripwire pages again from now "
                "on, and a firing it held back pages now if it is still open."
            )
        if self.active:
            return END_CONFIRM
        return "Cancel this mute? It has not started; nothing changes now."


def mute_lines(
    windows: list[MuteWindow], now: datetime, pages_nobody: bool = False
) -> list[MuteLine]:
    """The windows not over yet, muting ones first, then by start (`pages_nobody`: an
    alert's, which has no PagerDuty service)."""
    lines = []
    for window in windows:
        span = mutes.next_span(window, now)
        if span is not None:
            lines.append(MuteLine(window, span[0], span[1], span[0] <= now, pages_nobody))
    return sorted(lines, key=lambda line: (not line.active, line.start))


def _open_windows(organization_id: int, now: datetime) -> list[MuteWindow]:
    """The organization's windows not over yet (weekly ones never are), in one query."""
    windows = MuteWindow.objects.filter(organization_id=organization_id)
    return list(
        (windows.filter(ends_at__gt=now) | windows.filter(ends_at__isnull=True)).select_related(
            "alert", "service", "created_by"
        )
    )


# A mute of the alert page's forms refused: what was posted, kept in the session for the
# page it goes back to, which shows that form again, open, its errors beside its fields.
REFUSED = "alert_mute_refused"


def alert_mutes_context(alert: Alert, request: TenantRequest) -> dict[str, Any]:
    """The alert page's mute section: its windows, its services' mutes, the two forms (the
    one just refused bound to what was posted, once)."""
    now = timezone.now()
    windows = _open_windows(alert.organization_id, now)
    targets = {t.pk for t in alert.targets.all()}
    zone = request_zone(request).name
    refused = request.session.pop(REFUSED, None)
    posted = QueryDict(refused["data"]) if refused and refused["alert"] == alert.pk else None
    weekly = bool(posted is not None and refused and refused["weekly"])
    forms_shown = {
        "mute_form": MuteNowForm(None if weekly else posted, prefix="mute"),
        # No day ticked in advance: what is saved is exactly the days ticked.
        "schedule_form": ScheduleForm(
            posted if weekly else None, prefix="weekly", initial={"time_zone": zone}
        ),
    }
    for form in forms_shown.values():
        form.is_valid()  # a bound form's errors, for the page
    return {
        "mute_lines": mute_lines(
            [w for w in windows if w.alert_id == alert.pk], now, pages_nobody=not targets
        ),
        "service_mute_lines": mute_lines([w for w in windows if w.service_id in targets], now),
        **forms_shown,
    }


def held_until(alert: Alert, firing: Firing | None, now: datetime) -> datetime | None:
    """For a held open firing: when its last muted target is paged (if still firing); the
    API's firings say the same (`mutes.holds`)."""
    if firing is None or not firing.held:
        return None
    loaded = mutes.Mutes.load([alert.organization_id], now)
    hold = loaded.hold(firing, [t.pk for t in alert.targets.all()])
    return hold.until if hold is not None else None


@dataclass(frozen=True)
class Muted:
    """A muted alert or service for the dashboard and the list."""

    name: str
    url: str
    until: datetime
    reason: str
    is_service: bool


def muted_now(organization_id: int, slug: str, now: datetime) -> list[Muted]:
    """What is muted now, soonest to end first (one query)."""
    loaded = mutes.Mutes(now, tuple(_open_windows(organization_id, now)))
    found: dict[tuple[str, int], Muted] = {}
    for window in loaded.windows:
        if window.alert is not None:
            until = loaded.alert_until(window.alert.pk)
            url = reverse("alerts:detail", args=[slug, window.alert.pk])
            key, name = ("alert", window.alert.pk), window.alert.name
        else:
            assert window.service is not None
            until = loaded.service_until(window.service.pk)
            url = reverse("pagerduty:integrations", args=[slug]) + f"#service-{window.service.pk}"
            key, name = ("service", window.service.pk), window.service.name
        if until is not None and mutes.span_at(window, now) is not None:
            found[key] = Muted(name, url, until, window.reason, window.alert is None)
    return sorted(found.values(), key=lambda m: m.until)


def mute_notes(
    organization_id: int,
    ids: list[int],
    targets: dict[int, list[PagerDutyService]],
    now: datetime,
) -> dict[int, SafeString]:
    """The alert list's mark, per alert of `ids` (one query for the page): the alert's
    mute, or the muted services among those it pages (`targets`)."""
    loaded = mutes.Mutes(now, tuple(_open_windows(organization_id, now)))
    if not loaded.windows:
        return {}
    notes = {}
    for alert_id in ids:
        services = targets.get(alert_id, [])
        until = loaded.alert_until(alert_id)
        if until is not None:
            reason = next((w.reason for w in loaded.of_alert(alert_id) if w.reason), "")
            notes[alert_id] = mutes.mute_words(until, now, reason)
            continue
        muted = [(s, loaded.service_until(s.pk)) for s in services]
        if found := [(s, end) for s, end in muted if end is not None]:
            notes[alert_id] = format_html_join(
                "; ",
                "{} muted until {}",
                ((s.name, mutes.until_html(end, now)) for s, end in found),
            )
    return notes


def service_mute_lines(organization_id: int, now: datetime) -> dict[int, MuteLine]:
    """Per service: its muting (else next) window, for Settings → Integrations (one query)."""
    windows = [w for w in _open_windows(organization_id, now) if w.service_id is not None]
    lines: dict[int, MuteLine] = {}
    for line in mute_lines(windows, now):
        lines.setdefault(line.window.service_id or 0, line)
    return lines


# -- Changes ----------------------------------------------------------------------------


def _create(
    request: TenantRequest, subject: dict[str, Any], name: str, back: HttpResponse
) -> HttpResponse:
    """A window from the posted form ("kind" = once or weekly), or the form's errors."""
    weekly = request.POST.get("kind") == "weekly"
    form: forms.Form = (
        ScheduleForm(request.POST, prefix="weekly")
        if weekly
        else MuteNowForm(request.POST, prefix="mute")
    )
    if not form.is_valid():
        messages.error(request, f"Not muted: {_lower_first(problems_text(form))}")
        if "alert" in subject:  # its page shows the form again, the errors beside the fields
            request.session[REFUSED] = {"alert": subject["alert"].pk, "weekly": weekly}
            request.session[REFUSED]["data"] = request.POST.urlencode()
        return back
    data = form.cleaned_data
    fields = ("weekdays", "duration_minutes", "time_zone") if weekly else ("starts_at", "ends_at")
    window = MuteWindow.objects.create(
        organization=request.tenant.organization,
        reason=data.get("reason", ""),
        created_by=request.user,
        start_time=data["start"] if weekly else None,
        **{field: data[field] for field in fields},
        **subject,
    )
    if weekly:
        messages.success(
            request,
            f"{name} is muted {mutes.schedule_words(window)} every week. While muted, "
            "firings are shown here but page nobody; one still open at the end pages then.",
        )
    else:
        assert isinstance(form, MuteNowForm)
        with timezone.override(form.zone):  # the zone the time was typed in
            until = mutes.until_html(data["ends_at"], timezone.now())
        messages.success(
            request,
            format_html(
                "{} is muted until {}. Firings that open until then are shown but page "
                "nobody; one still open at the end pages then. An incident already open in "
                "PagerDuty stays open.",
                name,
                until,
            ),
        )
    return back


@tenant_view()
@require_POST
def alert_mute(request: TenantRequest, alert_id: int) -> HttpResponse:
    alert = tenant_get(request, Alert, pk=alert_id)
    return _create(request, {"alert": alert}, f"“{alert.name}”", redirect(alert))


@tenant_view()
@require_POST
def alert_mute_hour(request: TenantRequest, alert_id: int) -> HttpResponse:
    """One click beside a firing's Resolve, nothing to fill in at 3 a.m.: the alert muted for
    an hour from now, as "Mute now…" for 1 hour makes it; once only, however often it is
    clicked (the alert's row locked: a second click finds the first's window). It holds the
    pages not queued yet: what it says of the rest follows the firing (`quick_mute`)."""
    form = MuteNowForm({"mute-length": QUICK_MUTE}, prefix="mute")
    if not form.is_valid():  # a fixed choice of the form: never, unless the choices change
        messages.error(request, f"Not muted: {problems_text(form)}")
        return redirect(tenant_get(request, Alert, pk=alert_id))
    with transaction.atomic():
        # Whether it has a service to page, read in the same query: the words say so.
        serves = Alert.targets.through.objects.filter(alert_id=OuterRef("pk"))
        locked = for_tenant(request, Alert).select_for_update(of=("self",))
        alert = tenant_get(request, locked.annotate(serves=Exists(serves)), pk=alert_id)
        now = timezone.now()  # once locked: after a click it waited for, which it then sees
        until = quick_mute.already_muted_until(alert, form.cleaned_data["ends_at"], now)
        made = until is None
        if until is None:
            until = form.cleaned_data["ends_at"]
            MuteWindow.objects.create(
                organization=request.tenant.organization,
                alert=alert,
                created_by=request.user,
                starts_at=form.cleaned_data["starts_at"],
                ends_at=until,
            )
    nobody = not getattr(alert, "serves", True)
    messages.success(request, quick_mute.confirmation(alert, until, now, made, nobody))
    return redirect(alert)


def muting_line(alert: Alert, now: datetime) -> MuteLine | None:
    """The alert's own window muting it now, if any (one query): beside the open firing's
    Resolve, what "Unmute" ends."""
    windows = MuteWindow.objects.filter(organization_id=alert.organization_id, alert=alert)
    windows = windows.filter(ends_at__gt=now) | windows.filter(ends_at__isnull=True)
    nobody = not alert.targets.all()  # read with the page's alert
    active = [line for line in mute_lines(list(windows), now, nobody) if line.active]
    return active[0] if active else None


@tenant_view()
@require_POST
def service_mute(request: TenantRequest, pagerduty_service_id: int) -> HttpResponse:
    service = tenant_get(request, PagerDutyService, pk=pagerduty_service_id)
    back = redirect(
        reverse("pagerduty:integrations", args=[request.tenant.organization.slug])
        + f"#service-{service.pk}"
    )
    return _create(request, {"service": service}, f"Paging {service.name}", back)


@tenant_view()
@require_POST
def mute_end(request: TenantRequest, mute_window_id: int) -> HttpResponse:
    """End a mute now (a one-off that started), or remove it (weekly, or not started):
    what it held pages at once if still firing."""
    now = timezone.now()
    slug = request.tenant.organization.slug
    with transaction.atomic():
        window = tenant_get(
            request,
            for_tenant(request, MuteWindow)
            .select_for_update(of=("self",))
            .select_related("alert", "service"),
            pk=mute_window_id,
        )
        back = _back(request, window, slug)
        if not window.is_weekly and window.starts_at and window.starts_at < now:
            window.ends_at = now  # kept, ended: the log and the page say when
            window.save(update_fields=["ends_at"])
        else:
            window.delete()
    released = mute_release.release_due(request.tenant.organization.pk)["released"]
    paged = " Held firings whose mute is over are paging now." if released else ""
    still = _still_muted_until(window, now)
    after: str
    if still is not None:
        after = format_html("another window still mutes it until {}", mutes.until_html(still, now))
    elif window.alert is not None and not window.alert.targets.exists():
        after = NOBODY
    else:
        after = "Tripwire pages again"
    messages.success(
        request, format_html("Mute of {} ended: {}.{}", window.subject_name, after, paged)
    )
    return back


def _lower_first(text: str) -> str:
    """ "That time has passed" after a colon: "that time has passed" (not an acronym)."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def problems_text(form: forms.Form) -> str:
    """A form's errors as sentences: "Choose at least one day. It would end as it starts…"."""
    sentences = (str(e).strip() for errors in form.errors.values() for e in errors)
    return " ".join(s if s.endswith((".", "!", "?")) else f"{s}." for s in sentences if s)


def _still_muted_until(window: MuteWindow, now: datetime) -> datetime | None:
    """When another window muting the same alert or service ends, if one does now."""
    found = mutes.Mutes.load([window.organization_id], now)
    if window.alert_id is not None:
        return found.alert_until(window.alert_id)
    return found.service_until(window.service_id) if window.service_id else None


def _back(request: TenantRequest, window: MuteWindow, slug: str) -> HttpResponse:
    where = request.POST.get("from", "")
    if where in RETURN_TO:
        return redirect(RETURN_TO[where], slug=slug)
    if window.alert is not None and where != "integrations":
        return redirect(window.alert)
    return redirect(
        reverse("pagerduty:integrations", args=[slug])
        + (f"#service-{window.service_id}" if window.service_id else "")
    )
