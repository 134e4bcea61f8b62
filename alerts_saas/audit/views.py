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
    # Filters that need fixing list nothing: the page says what to fix, rather than show
    # entries (all of them, or those of the other filters) that were not asked for.
    invalid = bound and not form.is_valid()
    filters = form.filters() if bound and not invalid else query.Filters()
    entries = query.entries(organization, filters)
    page = Paginator(entries.none() if invalid else entries, PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [(entry, words.describe(entry)) for entry in page]
    return render(
        request,
        "audit/activity.html",
        {
            "form": form,
            "filtered": bound and not invalid,
            "invalid": invalid,
            "page": page,
            "rows": rows,
            "retention_days": settings.AUDIT_RETENTION_DAYS,
            "settings_tab": "activity",
            "nav_section": "settings",
        },
    )
