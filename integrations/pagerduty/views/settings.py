"""Settings / Integrations: connected accounts, their services, and pasted keys."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from alerts_saas.accounts.access import tenant_view
from alerts_saas.accounts.models import Role
from integrations.pagerduty import conf
from integrations.pagerduty.forms import PastedKeyForm
from integrations.pagerduty.models import Delivery, PagerDutyAccount, PagerDutyService


def services_with_stats(organization_id: int):
    """Services with their last delivery's status, for the tables on this page."""
    last = Delivery.objects.filter(service=OuterRef("pk")).order_by("-created_at", "-pk")
    alerts = (
        PagerDutyService.alerts.through.objects.filter(pagerdutyservice_id=OuterRef("pk"))
        .values("pagerdutyservice_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        PagerDutyService.objects.filter(organization_id=organization_id)
        .annotate(
            last_delivery_status=Subquery(last.values("status")[:1]),
            last_delivery_at=Subquery(last.values("created_at")[:1]),
            alert_count=Coalesce(Subquery(alerts), 0),
        )
        .order_by("name")
    )


def _page(
    request: HttpRequest, paste_form: PastedKeyForm | None = None, status: int = 200
) -> HttpResponse:
    organization = request.tenant.organization
    services = services_with_stats(organization.pk)
    accounts = (
        PagerDutyAccount.objects.filter(organization=organization)
        .select_related("connected_by")
        .prefetch_related(Prefetch("services", queryset=services, to_attr="service_rows"))
    )
    context = {
        "accounts": accounts,
        "pasted": services.filter(account__isnull=True),
        "paste_form": paste_form or PastedKeyForm(),
        "oauth_configured": conf.oauth_configured(),
        "settings_tab": "integrations",
    }
    return render(request, "pagerduty/integrations.html", context, status=status)


@tenant_view()
def integrations(request: HttpRequest) -> HttpResponse:
    return _page(request)


@tenant_view(Role.ADMIN)
@require_POST
def add_pasted_key(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    form = PastedKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, paste_form=form, status=400)
    service = PagerDutyService.objects.create(
        organization=tenant.organization,
        name=form.cleaned_data["name"],
        region=form.cleaned_data["region"],
        integration_key=form.cleaned_data["integration_key"],
        created_by=request.user,
    )
    messages.success(
        request, f"{service.name} was added. Send a test event to check the key works."
    )
    return redirect("pagerduty:integrations", slug=tenant.organization.slug)
