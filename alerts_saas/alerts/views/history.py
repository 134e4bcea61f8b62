"""An alert's page: its definition and its delivery history."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from alerts_saas.accounts.access import tenant_view
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.history import FILTERS, filtered


@tenant_view()
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(
        Alert.objects.prefetch_related("targets", "details"),
        pk=alert_id, organization=request.tenant.organization,
    )
    deliveries, status = filtered(alert.deliveries.all(), request.GET.get("status"))
    page = Paginator(deliveries, 50).get_page(request.GET.get("page"))
    return render(request, "alerts/detail.html",
                  {"alert": alert, "page": page, "status": status, "status_filters": FILTERS,
                   "hide_alert": True, "nav_section": "alerts"})
