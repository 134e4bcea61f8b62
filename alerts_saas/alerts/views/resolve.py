"""Resolving an alert's open firing from Tripwire (`resolving.resolve_by_hand`), and no
longer watching one value of its group field (`resolving.stop_watching`)."""

from __future__ import annotations

from urllib.parse import urlsplit

import redis
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from alerts_saas.accounts.access import TenantRequest, tenant_get, tenant_view
from alerts_saas.accounts.models import User
from alerts_saas.alerts import resolving
from alerts_saas.alerts.conditions import GROUP_VALUE_CHARS
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.payload import group_label, group_words
from alerts_saas.ids import as_id


@tenant_view()
@require_POST
def alert_resolve(request: TenantRequest, alert_id: int) -> HttpResponse:
    """Resolve the firing the page showed (posted as `firing`), not whichever is open now:
    one that opened since is news the person has not seen."""
    with transaction.atomic():
        alert = tenant_get(
            request,
            Alert.objects.select_for_update(no_key=True, of=("self",)).select_related(
                "organization"
            ),
            pk=alert_id,
        )
        user = request.user
        assert isinstance(user, User)  # tenant_view lets only signed-in members in
        posted = request.POST.get("firing", "")
        resolved = resolving.resolve_by_hand(alert, as_id(posted), user)
    # The value it resolved, or (resolved meanwhile) the one the page showed.
    value = _named(alert, resolved.firing.group) if resolved else _value_of(alert, posted)
    what = f"“{alert.name}”" if value is None else f"{value} of “{alert.name}”"
    if resolved:
        messages.success(
            request,
            f"{what} resolved. {resolved.sent.sent_words()} If its condition still "
            "holds, it fires again at the next check.",
        )
    else:
        messages.info(request, f"{what} was already resolved: nothing was sent.")
    return redirect(_back_to(request, alert))


def _value_of(alert: Alert, firing: str) -> str | None:
    """The value a Resolve button resolved ("web-22"), for an alert that fires per value:
    the alert's name alone reads as all of it. None for the alert as a whole."""
    if not alert.group_by:
        return None
    value = (
        Firing.objects.filter(
            organization_id=alert.organization_id, alert=alert, pk=as_id(firing) or 0
        )
        .values_list("group", flat=True)
        .first()
    )
    return None if value is None else _named(alert, value)


def _named(alert: Alert, group: str) -> str | None:
    """A firing's value as its Resolve's message names it; None for an alert as a whole."""
    if not alert.group_by:
        return None
    return group or f"Events with no {group_label(alert)}"


def _back_to(request: TenantRequest, alert: Alert) -> str:
    """The page the person pressed the button on (posted as `next`: its page of values,
    its filters), if it is this alert's page on this site; else the alert's page."""
    page, target = alert.get_absolute_url(), request.POST.get("next", "")
    here = url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    parts = urlsplit(target)
    return target if here and not parts.netloc and parts.path == page else page


@tenant_view()
@require_POST
def alert_stop_watching(request: TenantRequest, alert_id: int) -> HttpResponse:
    """Stop watching the value posted as `value` (a host taken down for good)."""
    value = request.POST.get("value", "")[:GROUP_VALUE_CHARS]
    user = request.user
    assert isinstance(user, User)  # tenant_view lets only signed-in members in
    stopped: bool | None
    try:
        with transaction.atomic():
            alert = tenant_get(
                request,
                Alert.objects.select_for_update(no_key=True, of=("self",)).select_related(
                    "organization"
                ),
                pk=alert_id,
            )
            if not alert.group_by:
                raise Http404("This alert does not count values separately.")
            sends = resolving.stop_watching_sends(alert, value)
            stopped = resolving.stop_watching(alert, value, user)
    except redis.RedisError:
        stopped = None  # rolled back: nothing changed
    # A NUL (a hand-made request: the page posts values Tripwire kept, which have none) is
    # not watched (`stop_watching`), and is shown as ingest keeps it.
    shown = group_words(group_label(alert), value.replace("\x00", "\ufffd"))
    if stopped is None:
        messages.error(
            request,
            f"{shown} is still watched: Tripwire could not reach its count store just now, "
            "so nothing changed. Try again in a minute.",
        )
        return redirect(f"{alert.get_absolute_url()}#alert-groups")
    if stopped:
        messages.success(
            request,
            f"{shown} is no longer watched by “{alert.name}”; {sends}. It is watched again "
            "from its next matching event.",
        )
    else:
        messages.info(request, f"{shown} was not watched by “{alert.name}”: nothing changed.")
    return redirect(f"{alert.get_absolute_url()}#alert-groups")
