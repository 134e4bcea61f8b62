"""Deleting a service and disconnecting an account.

The confirmation says what will happen (`removal.Plan`): the incidents resolved, the alerts
that would page nobody afterwards, with the choice to move them to another service or to
confirm that they will page nobody, the alerts that keep other services, and what the
person must do in PagerDuty themselves. The result is one message saying what was done.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods

from alerts_saas.accounts.access import TenantRequest, tenant_get, tenant_view
from alerts_saas.accounts.models import Role
from alerts_saas.accounts.times import CLOCK, time_html
from integrations.pagerduty import removal
from integrations.pagerduty.forms import RemovalForm
from integrations.pagerduty.left_open import StaysOpen
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.removal import AffectedAlert, LeftInPagerDuty, Outcome, Plan
from integrations.pagerduty.views.banner import problems_now

log = logging.getLogger(__name__)
NAMES_SHOWN = 20  # in the result message; the confirmation lists them all
FAILED = (
    "Nothing was removed or moved: something went wrong on our side, and everything was "
    "left as it was. Try again in a minute."
)


@tenant_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def delete_service(request: TenantRequest, pagerduty_service_id: int) -> HttpResponse:
    service = tenant_get(request, PagerDutyService, pk=pagerduty_service_id)
    return _confirm_or_remove(request, removal.plan_service_removal(service))


@tenant_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def disconnect(request: TenantRequest, pagerduty_account_id: int) -> HttpResponse:
    account = tenant_get(request, PagerDutyAccount, pk=pagerduty_account_id)
    return _confirm_or_remove(request, removal.plan_disconnect(account))


def _confirm_or_remove(request: TenantRequest, plan: Plan) -> HttpResponse:
    if request.method != "POST":
        return _confirmation(request, plan, RemovalForm(None, plan=plan))
    form = RemovalForm(request.POST, plan=plan)
    if not form.is_valid():
        return _confirmation(request, plan, form, status=400)
    try:
        outcome = removal.carry_out(
            plan, seen=form.seen_ids, move_to=form.destination, actor=request.user
        )
    except removal.PlanChanged as changed:
        if changed.plan is None:
            messages.info(request, changed.why)
            return redirect("pagerduty:integrations", slug=request.tenant.organization.slug)
        note = f"{changed.why} Nothing was changed yet: check what happens now, and confirm again."
        return _confirmation(
            request, changed.plan, RemovalForm(None, plan=changed.plan), status=409, note=note
        )
    except Exception:  # rolled back whole: say so rather than show an error page
        log.exception("Removing PagerDuty service(s) %s failed", plan.service_ids)
        return _confirmation(request, plan, form, status=500, error=FAILED)
    problems_now(request.tenant.organization)
    messages.success(request, summary(outcome))
    return redirect("pagerduty:integrations", slug=request.tenant.organization.slug)


def _confirmation(
    request: TenantRequest,
    plan: Plan,
    form: RemovalForm,
    status: int = 200,
    note: str = "",
    error: str = "",
) -> HttpResponse:
    template = "account_disconnect.html" if plan.account else "service_delete.html"
    context = {"plan": plan, "form": form, "note": note, "error": error}
    return render(request, f"pagerduty/{template}", context, status=status)


# --- The result, in one message -----------------------------------------------------------


def summary(outcome: Outcome) -> SafeString:
    """One message for the whole removal: what went, the incidents resolved or queued, the
    alerts moved or left paging nobody, and what remains to do in PagerDuty."""
    parts = [
        _removed(outcome.plan),
        _resolves(outcome),
        _alerts(outcome),
        _left_in_pagerduty(outcome.plan.left_in_pagerduty),
    ]
    return format_html_join(" ", "{}", ((part,) for part in parts if part))


def _removed(plan: Plan) -> SafeString:
    product = settings.PRODUCT_NAME
    if plan.account is None:
        return format_html("{} was removed from {}.", plan.services[0].name, product)
    disconnected = format_html(
        "PagerDuty account {} was disconnected and its access tokens deleted", plan.account.name
    )
    if not plan.services:
        return format_html("{}.", disconnected)
    return format_html(
        "{}; its services were removed from {}: {}.",
        disconnected,
        product,
        names([service.name for service in plan.services]),
    )


def _resolves(outcome: Outcome) -> SafeString:
    words = []
    if outcome.resolved:
        words.append(
            format_html(
                "{} open incident{} resolved in PagerDuty.",
                outcome.resolved,
                " was" if outcome.resolved == 1 else "s were",
            )
        )
    if outcome.pending:
        words.append(
            format_html(
                "{} resolve{} queued: {} out through the usual delivery, and {} outcome "
                "shows on the alert pages.",
                outcome.pending,
                " is" if outcome.pending == 1 else "s are",
                "it goes" if outcome.pending == 1 else "they go",
                "its" if outcome.pending == 1 else "their",
            )
        )
    if outcome.unsure:
        words.append(unsure_words(outcome.unsure, outcome.plan.organization.slug))
    if outcome.left_open:
        words.append(stays_open_words(outcome.left_open, outcome.plan.organization.slug))
    return format_html_join(" ", "{}", ((w,) for w in words))


def unsure_words(items: Sequence[StaysOpen], slug: str) -> SafeString:
    """Queued resolves to a key PagerDuty refused when last sent there: not yet tried, so
    not said to fail (that refusal may be over); where their outcome shows."""
    services = sorted({item.service_name for item in items})
    n = len(items)
    return format_html(
        "PagerDuty refused the key of {} the last time {} sent there, so it may refuse {} "
        'too: <a href="{}">Failed deliveries</a> will list any incident it leaves open, to '
        "resolve in PagerDuty.",
        names(services),
        settings.PRODUCT_NAME,
        "that resolve" if n == 1 else f"{n} of these resolves",
        reverse("dashboard:failed_deliveries", args=[slug]),
    )


def stays_open_words(items: Sequence[StaysOpen], slug: str) -> SafeString:
    """The incidents a removal left open in PagerDuty, each linked, and where Tripwire lists
    them (their resolves, refused, are failed deliveries; the services' pages are gone)."""
    failed = reverse("dashboard:failed_deliveries", args=[slug])
    if len(items) == 1:
        return format_html(
            "{} stays open in PagerDuty, as PagerDuty refuses Tripwire's resolve: resolve it "
            'there. <a href="{}">Failed deliveries</a> lists its resolve.',
            stays_open_link(items[0], first=True),
            failed,
        )
    return format_html(
        "{} incidents stay open in PagerDuty, as PagerDuty refuses Tripwire's resolves: resolve "
        'them there: {}. <a href="{}">Failed deliveries</a> lists their resolves.',
        len(items),
        names([stays_open_link(item) for item in items]),
        failed,
    )


def stays_open_link(item: StaysOpen, first: bool = False) -> SafeString:
    """'the test incident in Checkout API 001 from 08:05', linked to it in PagerDuty when the
    incident sync knows it, else followed by a link to its service there, when known."""
    name = item.name if first else item.name[0].lower() + item.name[1:]
    label = format_html("{} from {}", name, time_html(item.opened_at, CLOCK))
    link = '<a href="{}" target="_blank" rel="noopener">{}</a>'
    if item.incident_url:
        return format_html(link, item.incident_url, label)
    if item.service_url:  # find it on its service's page there
        return format_html("{} ({})", label, format_html(link, item.service_url, item.link_words))
    return label


def _alerts(outcome: Outcome) -> SafeString:
    if outcome.moved and outcome.moved_to is not None:
        return format_html(
            "{} moved to {}: {}{}.",
            _count(outcome.moved),
            outcome.moved_to.name,
            _alert_names(outcome.moved),
            _paged_now(outcome.moved, outcome.moved_to),
        )
    nobody = outcome.left_paging_nobody
    if nobody:
        return format_html(
            "{} now page{} nobody, as you confirmed: {}.",
            _count(nobody),
            "s" if len(nobody) == 1 else "",
            _alert_names(nobody),
        )
    return SafeString("")


def _paged_now(moved: Sequence[AffectedAlert], service: PagerDutyService) -> str:
    firing = sum(1 for alert in moved if alert.firing)
    if not firing:
        return ""
    if len(moved) == 1:
        return f"; it is firing, so {service.name} is paged now"
    verb = "is" if firing == 1 else "are"
    return f"; {firing} of them {verb} firing, so {service.name} is paged now"


def _left_in_pagerduty(items: Sequence[LeftInPagerDuty]) -> SafeString:
    """The integrations that stay in PagerDuty, and what to do about them."""
    ours = [item for item in items if not item.pasted]
    pasted = [item for item in items if item.pasted and not item.refused]
    refused = [item for item in items if item.pasted and item.refused]
    words = []
    if len(ours) == 1:
        words.append(
            format_html(
                "In PagerDuty, remove the integration “{}” on {}.",
                ours[0].integration_name,
                service_link(ours[0], f"{ours[0].service_name}'s Integrations tab"),
            )
        )
    elif ours:
        words.append(
            format_html(
                "In PagerDuty, remove the integration “{}” on the Integrations tab of each of "
                "these services: {}.",
                ours[0].integration_name,
                names([service_link(item, item.service_name) for item in ours]),
            )
        )
    if pasted:
        words.append(
            format_html(
                "The integration key{} you pasted for {} {} valid in PagerDuty until you remove "
                "{} there.",
                "" if len(pasted) == 1 else "s",
                names([item.service_name for item in pasted]),
                "stays" if len(pasted) == 1 else "stay",
                "its integration" if len(pasted) == 1 else "their integrations",
            )
        )
    if refused:
        words.append(
            format_html(
                "PagerDuty refuses the key{} you pasted for {}: if an integration in PagerDuty "
                "has {} (in its other region, say), remove it there.",
                "" if len(refused) == 1 else "s",
                names([item.service_name for item in refused]),
                "it" if len(refused) == 1 else "one of them",
            )
        )
    return format_html_join(" ", "{}", ((w,) for w in words))


def service_link(item: LeftInPagerDuty, label: str) -> SafeString:
    """`label`, linked to the service's Integrations tab in PagerDuty when we know it."""
    if not item.integrations_url:
        return format_html("{}", label)
    return format_html(
        '<a href="{}" target="_blank" rel="noopener">{}</a>', item.integrations_url, label
    )


def names(items: Sequence[str | SafeString]) -> SafeString:
    """'A', 'A and B', 'A, B and C'; past NAMES_SHOWN, 'A, B, … and 12 more'."""
    shown = list(items[:NAMES_SHOWN])
    more = len(items) - len(shown)
    if more:
        return format_html(
            "{} and {} more", format_html_join(", ", "{}", ((n,) for n in shown)), more
        )
    if len(shown) == 1:
        return format_html("{}", shown[0])
    head = format_html_join(", ", "{}", ((n,) for n in shown[:-1]))
    return format_html("{} and {}", head, shown[-1])


def _alert_names(alerts: Sequence[AffectedAlert]) -> SafeString:
    return names([format_html("“{}”", alert.name) for alert in alerts])


def _count(alerts: Sequence[AffectedAlert]) -> str:
    return f"{len(alerts)} alert{'' if len(alerts) == 1 else 's'}"
