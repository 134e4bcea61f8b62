"""The organization's fallback service: paged too when an alert's own service can't be."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from alerts_saas.accounts.access import TenantRequest, for_tenant, tenant_get, tenant_view
from alerts_saas.accounts.models import Role
from integrations.pagerduty.models import PagerDutyService


@tenant_view(Role.ADMIN)
@require_POST
def set_fallback(request: TenantRequest, pagerduty_service_id: int) -> HttpResponse:
    """Make the service the fallback (`use=1`), replacing any other, or stop (`use=0`)."""
    service = tenant_get(request, PagerDutyService, pk=pagerduty_service_id)
    use = request.POST.get("use") == "1"
    with transaction.atomic():
        # In this order, so the one-fallback constraint always holds; saved one by one, so
        # the audit log's signals see each change.
        others = for_tenant(request, PagerDutyService).filter(is_fallback=True)
        for other in others.exclude(pk=service.pk).select_for_update():
            other.is_fallback = False
            other.save(update_fields=["is_fallback"])
        service.is_fallback = use
        service.save(update_fields=["is_fallback"])
    if use:
        messages.success(
            request,
            f"{service.name} is now the fallback service: when an alert's own service is "
            "refused by PagerDuty or its account needs reconnecting, the alert's trigger "
            f"goes to {service.name} too.",
        )
    else:
        messages.success(
            request, f"{service.name} is no longer the fallback service. No service is."
        )
    return redirect("pagerduty:integrations", slug=request.tenant.organization.slug)
