"""Settings / Integrations: connected accounts, their services, and pasted keys."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from alerts_saas.accounts.access import TenantRequest, for_tenant, tenant_get, tenant_view
from alerts_saas.accounts.models import Role
from alerts_saas.accounts.services import lock_organization
from alerts_saas.alerts.mended import mended_words, page_mended
from alerts_saas.alerts.mute_forms import DURATIONS
from alerts_saas.alerts.views.mutes import service_mute_lines
from integrations.pagerduty import access_check, conf, reconnect
from integrations.pagerduty.forms import PastedKeyForm
from integrations.pagerduty.history import WAITING_AUTOMATIC_RESOLVE
from integrations.pagerduty.models import Delivery, PagerDutyAccount, PagerDutyService, Region
from integrations.pagerduty.views.banner import problems_now


def services_with_stats(request: TenantRequest) -> QuerySet[PagerDutyService]:
    """Services with their last delivery's status, for the tables on this page. A test
    incident's automatic resolve counts once its time has come, not while it waits."""
    last = (
        Delivery.objects.filter(organization_id=OuterRef("organization_id"), service=OuterRef("pk"))
        .exclude(WAITING_AUTOMATIC_RESOLVE)
        .order_by("-created_at", "-pk")
    )
    return (
        for_tenant(request, PagerDutyService)
        .annotate(
            last_delivery_status=Subquery(last.values("status")[:1]),
            last_delivery_at=Subquery(last.values("created_at")[:1]),
            alert_count=Count("alerts", distinct=True),
        )
        .select_related("webhook_subscription")  # incident updates: on, or why not
        .order_by("name")
    )


def _page(
    request: TenantRequest, paste_form: PastedKeyForm | None = None, status: int = 200
) -> HttpResponse:
    services = services_with_stats(request)
    accounts = (
        for_tenant(request, PagerDutyAccount)
        .select_related("connected_by")
        .prefetch_related(Prefetch("services", queryset=services, to_attr="service_rows"))
    )
    context = {
        "accounts": accounts,
        "pasted": services.filter(account__isnull=True),
        "fallback": for_tenant(request, PagerDutyService).filter(is_fallback=True).first(),
        "paste_form": paste_form or PastedKeyForm(organization=request.tenant.organization),
        "oauth_configured": conf.oauth_configured(),
        "settings_tab": "integrations",
        # Mute windows of the services (one query), for their rows.
        "service_mutes": service_mute_lines(request.tenant.organization.pk, timezone.now()),
        "mute_durations": DURATIONS,
        "reconnect_still": reconnect.STILL,  # an account to reconnect, as said everywhere
        "reconnect_stopped": reconnect.STOPPED,
        "access_check_minutes": access_check.slices(),  # beat reads each account this often
    }
    return render(request, "pagerduty/integrations.html", context, status=status)


@tenant_view()
def integrations(request: TenantRequest) -> HttpResponse:
    return _page(request)


@tenant_view(Role.ADMIN)
@require_POST
def add_pasted_key(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    with transaction.atomic():
        # One paste at a time per organization, so the same key pasted twice at once is
        # still found by the second. Without its key: a press or an audit entry meanwhile
        # (FOR KEY SHARE of the organization's row) does not wait for the paste.
        lock_organization(tenant.organization)
        form = PastedKeyForm(request.POST, organization=tenant.organization)
        done = _save_paste(request, form) if form.is_valid() else ""
    if not done:
        form.focus_first_error()
        return _page(request, paste_form=form, status=400)
    problems_now(tenant.organization)
    messages.success(request, done)
    return redirect("pagerduty:integrations", slug=tenant.organization.slug)


@tenant_view(Role.ADMIN)
@require_POST
def change_region(request: TenantRequest, pagerduty_service_id: int) -> HttpResponse:
    """Correct a pasted key's region ("Switch to <region>" on a row PagerDuty refuses): a
    key is known to PagerDuty in one region only. A connected service's region is its
    account's, so only pasted ones; a key PagerDuty takes (no longer refused, a page not
    yet refreshed) is in its right region, so it stays."""
    organization = request.tenant.organization
    region = request.POST.get("region", "")
    with transaction.atomic():
        # Found first: another organization's service is no such page (404), whatever posted.
        service = tenant_get(
            request,
            PagerDutyService.objects.select_for_update(),
            pk=pagerduty_service_id,
            account__isnull=True,
        )
        if region not in Region.values:
            return HttpResponseBadRequest("Unknown region.")
        taken = service.region != region and service.refused_at is None
        mended = ""
        if service.region != region and not taken:
            mended = _switch_region(request, service, region)[1]
    problems_now(organization)
    if taken:
        messages.error(
            request,
            f"{service.name} was not switched: PagerDuty has not refused its key in the "
            f"{service.get_region_display()}, so it stays there.",
        )
    else:
        messages.success(
            request,
            f"{service.name} now sends to PagerDuty in the {service.get_region_display()}. "
            "Send a test event to check the key works there.",
        )
    if mended:
        messages.success(request, mended)
    return redirect(
        reverse("pagerduty:integrations", args=[organization.slug]) + f"#service-{service.pk}"
    )


def _save_paste(request: TenantRequest, form: PastedKeyForm) -> str:
    """Add the pasted service, or correct the region of the one with this key; say which."""
    if form.region_change is not None:
        service, mended = _switch_region(request, form.region_change, form.cleaned_data["region"])
        return (
            f"{service.name} now sends to PagerDuty in the {service.get_region_display()}. "
            f"Send a test event to check the key works there. {mended}"
        ).strip()
    service = PagerDutyService.objects.create(
        organization=request.tenant.organization,
        name=form.cleaned_data["name"],
        region=form.cleaned_data["region"],
        integration_key=form.cleaned_data["integration_key"],
        created_by=request.user,
    )
    return f"{service.name} was added. Send a test event to check the key works."


def _switch_region(
    request: TenantRequest, service: PagerDutyService, region: str
) -> tuple[PagerDutyService, str]:
    """A pasted key's region corrected. What PagerDuty said in the other region no longer
    holds: the refusal and failure marks go, and the open firings it refused are paged there
    again (`page_mended`); what to tell of them. The person's correction is a guess, not
    PagerDuty's answer: the service is "not confirmed" until an event there is accepted
    (the mark goes, `paths.heal`) or refused (marked refused again, `paths.record`).

    Its queued deliveries (not those being sent) follow it there in this transaction, with
    the same key: a trigger waiting to be retried, or behind the rate limit, pages there
    rather than being refused again where the person just said the key is not. The region
    it leaves refused is kept (`refused_region`): refused there too, the key is wrong."""
    service.refused_region = service.region if service.refused_at is not None else ""
    service.region = region
    service.refused_at, service.refused_detail = None, ""
    service.failing_since, service.failing_detail = None, ""
    service.unconfirmed_at = timezone.now()
    service.unconfirmed_why = (
        f"Region changed to the {service.get_region_display()} by {request.user.display_name}"
    )[:300]
    service.save(
        update_fields=[
            "region",
            "refused_at",
            "refused_detail",
            "failing_since",
            "failing_detail",
            "unconfirmed_at",
            "unconfirmed_why",
            "refused_region",
        ]
    )
    Delivery.objects.filter(
        organization_id=service.organization_id,
        service_id=service.pk,
        status=Delivery.Status.QUEUED,
    ).exclude(region=region).update(region=region)
    paged = page_mended(service.organization_id, [service.pk]).get(service.pk, 0)
    return service, mended_words(service.name, paged)
