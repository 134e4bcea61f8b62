"""Alert list, the alert form (create and edit), enable/disable and delete."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from alerts_saas.accounts.access import tenant_view
from alerts_saas.alerts.forms import AlertForm, DetailFormSet
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.flow import take_restore
from integrations.pagerduty.models import Delivery, PagerDutyService


@tenant_view()
def alert_list(request: HttpRequest) -> HttpResponse:
    organization = request.tenant.organization
    last = Delivery.objects.filter(alert=OuterRef("pk")).order_by("-created_at", "-pk")
    alerts = (
        Alert.objects.filter(organization=organization)
        .annotate(last_delivery_status=Subquery(last.values("status")[:1]),
                  last_delivery_at=Subquery(last.values("created_at")[:1]))
        .prefetch_related(Prefetch("targets", queryset=PagerDutyService.objects.order_by("name")))
    )
    has_services = PagerDutyService.objects.filter(organization=organization).exists()
    return render(request, "alerts/list.html",
                  {"alerts": alerts, "has_services": has_services, "nav_section": "alerts"})


def form_context(request: HttpRequest, form: AlertForm, details: DetailFormSet,
                 alert: Alert | None, **extra: object) -> dict[str, object]:
    # Test alerts sent from this form before it was saved, to join the alert's history.
    carried = request.POST.getlist("test_delivery") if request.method == "POST" else []
    carried += [str(d.pk) for d in extra.get("test_deliveries") or []]
    return {"form": form, "details": details, "alert": alert, "nav_section": "alerts",
            "has_services": form.fields["targets"].queryset.exists(),
            "carried_tests": list(dict.fromkeys(carried)), **extra}


def _adopt_test_deliveries(request: HttpRequest, alert: Alert) -> None:
    """Attach the test alerts sent from the unsaved form (and their resolves) to `alert`."""
    ids = [pk for pk in request.POST.getlist("test_delivery") if pk.isdigit()]
    if not ids:
        return
    tests = Delivery.objects.filter(organization=alert.organization, is_test=True,
                                    alert__isnull=True)
    keys = list(tests.filter(pk__in=ids).values_list("dedup_key", flat=True))
    tests.filter(dedup_key__in=keys).update(alert=alert)


def _restored(request: HttpRequest, alert: Alert | None) -> tuple[QueryDict, bool] | None:
    """The unsaved form left for "Connect PagerDuty", with the new services ticked."""
    restore = take_restore(request.session)
    if restore is None:
        return None
    draft = restore.draft
    targets = draft.getlist("targets") + [str(pk) for pk in restore.services]
    draft.setlist("targets", list(dict.fromkeys(targets)))
    return draft, True


def _edit(request: HttpRequest, alert: Alert | None) -> HttpResponse:
    organization = request.tenant.organization
    instance = alert or Alert(organization=organization)
    restored = _restored(request, alert) if request.method == "GET" else None
    data = request.POST if request.method == "POST" else (restored[0] if restored else None)
    form = AlertForm(data, instance=instance, organization=organization)
    details = DetailFormSet(data, instance=instance)
    if request.method == "POST" and form.is_valid() and details.is_valid():
        with transaction.atomic():
            saved = form.save()
            details.instance = saved
            details.save()
            _adopt_test_deliveries(request, saved)
        messages.success(request, f"Alert “{saved.name}” saved.")
        return redirect("alerts:list", slug=organization.slug)
    status = 400 if request.method == "POST" else 200
    context = form_context(request, form, details, alert, restored=bool(restored))
    return render(request, "alerts/form.html", context, status=status)


@tenant_view()
@require_http_methods(["GET", "POST"])
def alert_create(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@tenant_view()
@require_http_methods(["GET", "POST"])
def alert_edit(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=alert_id, organization=request.tenant.organization)
    return _edit(request, alert)


@tenant_view()
@require_POST
def alert_toggle(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=alert_id, organization=request.tenant.organization)
    Alert.objects.filter(pk=alert.pk).update(enabled=not alert.enabled)
    state = "disabled" if alert.enabled else "enabled"
    messages.success(request, f"Alert “{alert.name}” {state}.")
    return redirect("alerts:list", slug=request.tenant.organization.slug)


@tenant_view()
@require_http_methods(["GET", "POST"])
def alert_delete(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=alert_id, organization=request.tenant.organization)
    if request.method == "GET":
        return render(request, "alerts/delete.html", {"alert": alert, "nav_section": "alerts"})
    name = alert.name
    alert.delete()
    messages.success(request, f"Alert “{name}” deleted. Its delivery history stays.")
    return redirect("alerts:list", slug=request.tenant.organization.slug)
