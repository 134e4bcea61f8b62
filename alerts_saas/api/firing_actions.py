"""What the alert page's buttons do to firings, for a token with the write scope: Resolve
an open firing (`resolving.resolve_by_hand`), and Stop watching one value of an alert that
counts per value (`resolving.stop_watching`: a host taken down for good).

Each takes the locks the page's views take, in their order: the alert's row (FOR NO KEY
UPDATE), then its firings (`firings.clear_firing`). The audit entry the page writes is the
token's (the audit context reads `request.auth`); a token is no person, so the firing's
`cleared_by` and its resolves' `created_by` stay empty, and both name the token instead
(`Firing.cleared_by_token`, `Delivery.created_by_token`, written with them): the firing's
`cleared_by_token` and the incident's words say which token resolved it.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import redis
from django.db import transaction
from ninja import Router
from pydantic import BaseModel, Field

from alerts_saas.alerts import resolving
from alerts_saas.alerts.conditions import GROUP_VALUE_CHARS
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.payload import group_label, group_words
from alerts_saas.api import history
from alerts_saas.api.auth import WRITE, TokenRequest
from alerts_saas.api.fields import NoNul
from alerts_saas.api.history_schemas import FiringOut
from alerts_saas.api.schemas import Closed, InvalidOut
from alerts_saas.ingest.parsing import Refused
from alerts_saas.ingest.schema import ErrorOut

router = Router()

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}


class StopWatchingIn(Closed):
    value: NoNul = Field(
        max_length=GROUP_VALUE_CHARS,
        description='The value to stop watching, exactly as the events send it (e.g. "web-3"); '
        "empty for the events that had none. A NUL character is kept as U+FFFD, so send "
        "U+FFFD in its place (a NUL is refused, 400).",
        examples=["web-3"],
    )


class StoppedWatchingOut(BaseModel):
    alert_id: int
    value: str
    message: str = Field(description="What was done, in words.")
    resolved: FiringOut | None = Field(
        description="The value's open firing, now resolved (its resolves are queued to "
        "PagerDuty); null if it had none open."
    )


def _locked_alert(request: TokenRequest, alert_id: int) -> Alert | None:
    """The organization's alert, its row locked (only its own: not its organization's) as
    the page's views lock it, before any of its firings."""
    return (
        Alert.objects.select_for_update(no_key=True, of=("self",))
        .select_related("organization")
        .filter(organization=request.auth.organization, pk=alert_id)
        .first()
    )


def _no_firing(firing_id: int) -> Refused:
    return Refused(404, f"There is no firing {firing_id} in this organization.")


@router.post(
    "/firings/{firing_id}/resolve",
    auth=WRITE,
    response={200: FiringOut, **ERRORS, 409: ErrorOut},
    tags=["History"],
)
def resolve_firing(request: TokenRequest, firing_id: int) -> FiringOut:
    """Resolve an open firing, as the alert page's Resolve does: it clears as "resolved" (in
    Tripwire) and the resolves of its incidents go to PagerDuty. If the condition still
    holds, the alert fires again at the next check (whether that pages, a mute or a path to
    nobody decides, as the alert page says). A firing already cleared is 409, and nothing
    is sent."""
    organization = request.auth.organization
    with transaction.atomic():
        alert_id = (
            Firing.objects.filter(organization=organization, pk=firing_id)
            .values_list("alert_id", flat=True)
            .first()
        )
        alert = None if alert_id is None else _locked_alert(request, alert_id)
        if alert is None:
            raise _no_firing(firing_id)
        resolved = resolving.resolve_by_hand(alert, firing_id, None, request.auth)
    if resolved is None:
        raise _already_cleared(request, alert, firing_id)
    return history.get_firing(request, firing_id)


def _already_cleared(request: TokenRequest, alert: Alert, firing_id: int) -> Refused:
    firing = (
        Firing.objects.filter(organization=request.auth.organization, pk=firing_id)
        .only("group", "cleared_at", "clear_reason")
        .first()
    )
    if firing is None or firing.cleared_at is None:  # deleted with its alert meanwhile
        return _no_firing(firing_id)
    value = f" ({group_words(group_label(alert), firing.group)})" if alert.group_by else ""
    reason = firing.get_clear_reason_display()
    return Refused(
        409,
        f"Firing {firing_id} of “{alert.name}”{value} was already resolved at "
        f"{firing.cleared_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC "
        f"({reason[:1].lower()}{reason[1:]}): nothing was sent.",
    )


@router.post(
    "/alerts/{alert_id}/stop-watching",
    auth=WRITE,
    response={200: StoppedWatchingOut, **ERRORS, 400: InvalidOut, 503: ErrorOut},
    tags=["Alerts"],
)
def stop_watching_value(
    request: TokenRequest, alert_id: int, body: StopWatchingIn
) -> StoppedWatchingOut:
    """Stop watching one value of an alert that counts per value (`group_by`), as the alert
    page's Stop watching does: for a host taken down for good, which an absence alert would
    otherwise keep firing for. Its open firing, if any, is resolved (its incident too), and
    the value and its counts are forgotten until a matching event has it again. 404 if the
    alert does not count per value, or the value was neither seen nor firing; 400 for a value
    with a NUL character (Tripwire keeps none: send U+FFFD in its place); 503 if the count
    store can't be reached (nothing changed: try again)."""
    value = body.value
    try:
        with transaction.atomic():
            alert = _grouping_alert(request, alert_id)
            # Under the alert's lock, which every writer of its firings takes first: the
            # firing read here is the one stop_watching resolves.
            open_id = (
                Firing.objects.filter(
                    organization_id=alert.organization_id,
                    alert=alert,
                    group=value,
                    cleared_at__isnull=True,
                )
                .values_list("pk", flat=True)
                .first()
            )
            its = resolving.stop_watching_sends(alert, value)
            stopped = resolving.stop_watching(alert, value, None, request.auth)
    except redis.RedisError:  # rolled back: nothing changed
        raise Refused(
            503,
            f"{_shown(alert, value)} is still watched: Tripwire could not reach its count "
            "store just now, so nothing changed. Try again in a minute.",
            {"Retry-After": "60"},
        ) from None
    shown = _shown(alert, value)
    if not stopped:
        raise Refused(
            404,
            f"{shown} was not watched by “{alert.name}”: nothing changed. (It was neither "
            "seen in the alert's window nor firing.)",
        )
    return StoppedWatchingOut(
        alert_id=alert.pk,
        value=value,
        message=f"{shown} is no longer watched by “{alert.name}”; {its}. It is watched again "
        "from its next matching event.",
        resolved=None if open_id is None else history.get_firing(request, open_id),
    )


def _grouping_alert(request: TokenRequest, alert_id: int) -> Alert:
    """The alert, locked (`_locked_alert`), if it counts per value; else 404."""
    alert = _locked_alert(request, alert_id)
    if alert is None:
        raise Refused(404, f"There is no alert {alert_id} in this organization.")
    if not alert.group_by:
        raise Refused(
            404,
            f"This alert (“{alert.name}”) does not count values separately: its `group_by` "
            "is null, so there is no value to stop watching.",
        )
    return alert


def _shown(alert: Alert, value: str) -> str:
    return group_words(group_label(alert), value)
