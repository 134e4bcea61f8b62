"""Releasing a former URL name: its old links stop leading here, and any organization may
take the name again."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from alerts_saas.accounts.access import TenantRequest, tenant_get, tenant_view
from alerts_saas.accounts.models import FormerSlug, Role


@tenant_view(Role.ADMIN)
@require_POST
def release(request: TenantRequest, former_slug_id: int) -> HttpResponse:
    former = tenant_get(request, FormerSlug, pk=former_slug_id)
    former.delete()
    messages.success(
        request, f"Links with /o/{former.slug}/ no longer lead here; the name is free again."
    )
    return redirect("accounts:org_settings", slug=request.tenant.organization.slug)
