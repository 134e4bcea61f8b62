"""The organization's fallback service: paged too when an alert's own service can't be."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from alerts_saas.accounts.access import TenantRequest, for_tenant, tenant_get, tenant_view
from alerts_saas.accounts.models import Role
from alerts_saas.alerts.fallback_now import page_fallback_now
from integrations.pagerduty import paths
from integrations.pagerduty.models import PagerDutyService


@tenant_view(Role.ADMIN)
@require_POST
def set_fallback(request: TenantRequest, pagerduty_service_id: int) -> HttpResponse:
    """Make the service the fallback (`use=1`), replacing any other, or stop (`use=0`)."""
    service = tenant_get(request, PagerDutyService, pk=pagerduty_service_id)
    use = request.POST.get("use") == "1"
    with transaction.atomic():
        # First: a refused trigger's settle under way is committed before the firings are
        # read, and one that starts now reads this choice (`paths.lock_fallback_choice`).
        paths.lock_fallback_choice([service.organization_id], choosing=True)
        # In this order, so the one-fallback constraint always holds; saved one by one, so
        # the audit log's signals see each change.
        others = for_tenant(request, PagerDutyService).filter(is_fallback=True)
        for other in others.exclude(pk=service.pk).select_for_update():
            other.is_fallback = False
            other.save(update_fields=["is_fallback"])
        service.is_fallback = use
        service.save(update_fields=["is_fallback"])
        # Firings open now that reach nobody are paged through it at once, not when they
        # next change: the same trigger the fallback gets when a firing opens.
        paged = page_fallback_now(service) if use else []
    if use:
        messages.success(request, chosen_words(service.name, paged))
    else:
        messages.success(
            request, f"{service.name} is no longer the fallback service. No service is."
        )
    return redirect("pagerduty:integrations", slug=request.tenant.organization.slug)


def chosen_words(name: str, paged: list[str]) -> str:
    """The confirmation: who is paged now (the alerts whose open firing reaches nobody, none
    of its triggers still on its way: `fallback_now`), and what the fallback does from now
    on."""
    then = (
        f"{name} is now the fallback service: when an alert's own service is refused by "
        "PagerDuty or its account needs reconnecting, the alert's trigger goes to "
        f"{name} too."
    )
    if not paged:
        return then
    shown = ", ".join(paged[:5]) + (f" and {len(paged) - 5} more" if len(paged) > 5 else "")
    why = "it pages, so no one else is paged for it"
    if len(paged) > 1:
        why = "they page, so no one else is paged for them"
    return f"{name} is paged now for {shown}: PagerDuty refuses every service {why}. {then}"
