"""Settings → Activity: the organization's audit log, for owners and admins."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from alerts_saas.accounts.access import TenantRequest, tenant_view
from alerts_saas.accounts.models import Role
from alerts_saas.audit import query, words
from alerts_saas.audit.forms import ActivityFilterForm

PER_PAGE = 50


@tenant_view(Role.ADMIN)
@require_GET
def activity(request: TenantRequest) -> HttpResponse:
    organization = request.tenant.organization
    bound = any(request.GET.get(name) for name in ("who", "kind", "action", "since", "until"))
    form = ActivityFilterForm(request.GET if bound else None, organization)
    filters = query.Filters()
    if bound:
        form.is_valid()  # an invalid filter is left out, and the form says why
        filters = form.filters()
    page = Paginator(query.entries(organization, filters), PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [(entry, words.describe(entry)) for entry in page]
    return render(
        request,
        "audit/activity.html",
        {
            "form": form,
            "filtered": bound,
            "page": page,
            "rows": rows,
            "retention_days": settings.AUDIT_RETENTION_DAYS,
            "settings_tab": "activity",
            "nav_section": "settings",
        },
    )
