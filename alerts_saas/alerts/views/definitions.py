"""Alert list, the alert form (create and edit), enable/disable and delete."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Case, OuterRef, Prefetch, Subquery, Value, When
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from alerts_saas.accounts.access import TenantRequest, for_tenant, tenant_get, tenant_view
from alerts_saas.alerts import evaluation, firings
from alerts_saas.alerts.conditions import describe
from alerts_saas.alerts.forms import AlertForm, BaseDetailFormSet, DetailFormSet
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.state import State, duration_label, state_of
from alerts_saas.alerts.views.params import as_id
from alerts_saas.alerts.views.rows import AlertRow
from integrations.pagerduty.flow import ConnectFlow
from integrations.pagerduty.models import Delivery, PagerDutyService

log = logging.getLogger(__name__)


@tenant_view()
def alert_list(request: TenantRequest) -> HttpResponse:
    organization = request.tenant.organization
    last = Delivery.objects.filter(alert=OuterRef("pk")).order_by("-created_at", "-pk")
    open_firing = Firing.objects.filter(alert=OuterRef("pk"), cleared_at__isnull=True)
    alerts = list(
        for_tenant(request, Alert)
        .annotate(
            last_delivery_status=Subquery(last.values("status")[:1]),
            last_delivery_at=Subquery(last.values("created_at")[:1]),
            firing_since=Subquery(open_firing.values("opened_at")[:1]),
        )
        .annotate(
            firing_first=Case(
                When(firing_since__isnull=False, then=Value(False)),
                default=Value(True),
                output_field=BooleanField(),
            )
        )
        .order_by("firing_first", "name")
        .prefetch_related(Prefetch("targets", queryset=PagerDutyService.objects.order_by("name")))
    )
    now = timezone.now()
    rows = []
    for alert in alerts:
        alert.organization = organization  # for its URL, without a query per row
        # The open firing's start is all the list shows of it.
        since = alert.firing_since
        firing = Firing(opened_at=since) if since else None
        rows.append(
            AlertRow(
                subject=alert,
                state=state_of(alert, firing, now),
                firing_duration=duration_label((now - since).total_seconds()) if since else "",
                rules=describe(alert),
            )
        )
    firing_count = sum(row.state.state == State.FIRING for row in rows)
    has_services = for_tenant(request, PagerDutyService).exists()
    return render(
        request,
        "alerts/list.html",
        {
            "alerts": rows,
            "has_services": has_services,
            "nav_section": "alerts",
            "firing_count": firing_count,
        },
    )


def form_context(
    request: TenantRequest,
    form: AlertForm,
    details: BaseDetailFormSet,
    alert: Alert | None,
    test_deliveries: list[Delivery] | None = None,
    **extra: object,
) -> dict[str, object]:
    # Test alerts sent from this form before it was saved, to join the alert's history.
    carried = request.POST.getlist("test_delivery") if request.method == "POST" else []
    carried += [str(d.pk) for d in test_deliveries or []]
    return {
        "form": form,
        "details": details,
        "alert": alert,
        "nav_section": "alerts",
        "has_services": for_tenant(request, PagerDutyService).exists(),
        "carried_tests": list(dict.fromkeys(carried)),
        "test_deliveries": test_deliveries or [],
        **extra,
    }


def _adopt_test_deliveries(request: TenantRequest, alert: Alert) -> None:
    """Attach the test alerts sent from the unsaved form (and their resolves) to `alert`."""
    ids = [pk for pk in map(as_id, request.POST.getlist("test_delivery")) if pk is not None]
    if not ids:
        return
    tests = for_tenant(request, Delivery).filter(is_test=True, alert__isnull=True)
    keys = list(tests.filter(pk__in=ids).values_list("dedup_key", flat=True))
    tests.filter(dedup_key__in=keys).update(alert=alert)


def _restored(request: TenantRequest, alert: Alert | None) -> tuple[QueryDict, bool] | None:
    """The unsaved form left for "Connect PagerDuty", with the new services ticked."""
    restore = ConnectFlow(request.session).take_restore()
    if restore is None:
        return None
    form = restore.form
    targets = form.getlist("targets") + [str(pk) for pk in restore.services]
    form.setlist("targets", list(dict.fromkeys(targets)))
    return form, True


def _reevaluate(request: TenantRequest, alert: Alert) -> None:
    """Check the just-saved alert at once, in the saving transaction."""
    if not evaluation.reevaluate(alert, alert.counting_restarted):
        messages.warning(request, evaluation.UNCHECKED)


def _edit(request: TenantRequest, alert: Alert | None) -> HttpResponse:
    organization = request.tenant.organization
    instance = alert or Alert(organization=organization)
    restored = _restored(request, alert) if request.method == "GET" else None
    data = request.POST if request.method == "POST" else (restored[0] if restored else None)
    form = AlertForm(data, instance=instance, organization=organization)
    details = DetailFormSet(data, instance=instance)
    if request.method == "POST" and form.is_valid() and details.is_valid():
        try:
            with transaction.atomic():
                saved = form.save()
                details.instance = saved
                details.save()
                _adopt_test_deliveries(request, saved)
                _reevaluate(request, saved)
        except IntegrityError:
            # A concurrent save (another tab) took a name or detail key first.
            form.add_error(
                None,
                "This alert changed while you were editing it, perhaps in "
                "another tab. Nothing was saved: reload the page and make "
                "your change again.",
            )
            context = form_context(request, form, details, alert)
            return render(request, "alerts/form.html", context, status=409)
        note = (
            " Counting starts afresh: events before now don't count for the new condition."
            if saved.counting_restarted
            else ""
        )
        messages.success(request, f"Alert “{saved.name}” saved.{note}")
        return redirect("alerts:list", slug=organization.slug)
    status = 400 if request.method == "POST" else 200
    context = form_context(request, form, details, alert, restored=bool(restored))
    return render(request, "alerts/form.html", context, status=status)


@tenant_view()
@require_http_methods(["GET", "POST"])
def alert_create(request: TenantRequest) -> HttpResponse:
    return _edit(request, None)


@tenant_view()
@require_http_methods(["GET", "POST"])
def alert_edit(request: TenantRequest, alert_id: int) -> HttpResponse:
    alert = tenant_get(request, Alert, pk=alert_id)
    return _edit(request, alert)


def _back(request: TenantRequest, alert: Alert | None = None) -> HttpResponse:
    """Back to the alert's page when the action came from there, else to the list."""
    if alert is not None and request.POST.get("from") == "detail":
        return redirect(alert)
    return redirect("alerts:list", slug=request.tenant.organization.slug)


@tenant_view()
@require_POST
def alert_toggle(request: TenantRequest, alert_id: int) -> HttpResponse:
    """Enable or disable. The form says which ("enabled" = 1 or 0), so a double click does
    not undo itself; without it, the state flips."""
    with transaction.atomic():
        alert = tenant_get(
            request, Alert.objects.select_for_update().select_related("organization"), pk=alert_id
        )
        wanted = request.POST.get("enabled")
        enable = (wanted == "1") if wanted in ("0", "1") else not alert.enabled
        if enable == alert.enabled:
            state = "enabled" if enable else "disabled"
            messages.info(request, f"Alert “{alert.name}” was already {state}.")
            return _back(request, alert)
        alert.enabled = enable
        firing = None if enable else firings.open_firing_of(alert)  # for the message
        # A save, not an update: updated_at tells the ingest path to recompile its alerts,
        # and enabling restarts counting (nothing was counted while it was disabled).
        alert.save(update_fields=["enabled", "updated_at"])
        _reevaluate(request, alert)
    if enable:
        how = (
            "It waits one full window before it can fire."
            if alert.is_absence
            else "It counts matching events from now."
        )
        messages.success(request, f"Alert “{alert.name}” enabled. {how}")
    elif firing is not None:
        messages.success(
            request,
            f"Alert “{alert.name}” disabled. Its open incident is being resolved in PagerDuty.",
        )
    else:
        messages.success(
            request, f"Alert “{alert.name}” disabled. It will not page until you enable it."
        )
    return _back(request, alert)


@tenant_view()
@require_http_methods(["GET", "POST"])
def alert_delete(request: TenantRequest, alert_id: int) -> HttpResponse:
    if request.method == "GET":
        alert = tenant_get(request, Alert, pk=alert_id)
        return render(
            request,
            "alerts/delete.html",
            {"alert": alert, "firing": firings.open_firing_of(alert), "nav_section": "alerts"},
        )
    with transaction.atomic():
        alert = tenant_get(request, Alert.objects.select_for_update(), pk=alert_id)
        name = alert.name
        was_firing = evaluation.delete(alert)
    resolved = " Its open incident is being resolved in PagerDuty." if was_firing else ""
    messages.success(request, f"Alert “{name}” deleted.{resolved} Its delivery history stays.")
    return _back(request)
