"""Settings / Ingest keys: the keys a team's systems post events with.

A key's secret exists in one place only: the response to the POST that made it. That page
is rendered straight from the POST (no redirect carrying it in a URL or the session) and
is never cached; the database keeps its hash, and the list shows its first characters.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from alerts_saas.accounts.access import TenantRequest, for_tenant, tenant_get, tenant_view
from alerts_saas.accounts.models import Role
from alerts_saas.accounts.services import lock_organization
from alerts_saas.ingest.forms import IngestKeyForm
from alerts_saas.ingest.models import IngestKey
from integrations.pagerduty import changes as pagerduty_changes

SAMPLE_EVENTS = '[{"app":"checkout","level":"error","message":"Payment failed","source":"web-1"}]'


def curl_example(base: str, secret: str) -> str:
    """A command that posts one event with the key, ready to paste into a shell."""
    return (
        f"curl -X POST {base}{reverse('api:post_events')} "
        f'-H "Authorization: Bearer {secret}" '
        f"-H \"Content-Type: application/json\" -d '{SAMPLE_EVENTS}'"
    )


def _page(
    request: TenantRequest,
    form: IngestKeyForm | None = None,
    status: int = 200,
    new_key: IngestKey | None = None,
    secret: str = "",
) -> HttpResponse:
    tenant = request.tenant
    keys = for_tenant(request, IngestKey).select_related(
        "created_by", "revoked_by", "created_by_token", "revoked_by_token"
    )
    if form is None and tenant.is_admin:
        form = IngestKeyForm(organization=tenant.organization)
    context = {
        "keys": keys,
        "has_active": any(not k.is_revoked for k in keys),
        "form": form,
        "new_key": new_key,
        "secret": secret,
        "api_docs_url": reverse("api:openapi-view"),
        "settings_tab": "ingest_keys",
        "change_services": pagerduty_changes.services_for(tenant.organization.pk),
    }
    if secret:
        base = request.build_absolute_uri("/").removesuffix("/")
        context["curl"] = curl_example(base, secret)
    return render(request, "ingest/keys.html", context, status=status)


@tenant_view()
def keys(request: TenantRequest) -> HttpResponse:
    return _page(request)


@tenant_view(Role.ADMIN)
@require_POST
@never_cache
@sensitive_variables("secret")
def create(request: TenantRequest) -> HttpResponse:
    organization = request.tenant.organization
    with transaction.atomic():
        # One key creation at a time per organization, so two requests can't both pass
        # the duplicate-name check.
        lock_organization(organization)
        form = IngestKeyForm(request.POST, organization=organization)
        if not form.is_valid():
            return _page(request, form=form, status=400)
        key, secret = IngestKey.issue(organization, form.cleaned_data["name"], request.user)
    # Shown once, in this response only. A reload re-posts the form, which is refused: the
    # name is now taken.
    return _page(request, new_key=key, secret=secret)


@tenant_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def revoke(request: TenantRequest, ingest_key_id: int) -> HttpResponse:
    organization = request.tenant.organization
    key = tenant_get(
        request,
        IngestKey.objects.select_related("revoked_by", "revoked_by_token"),
        pk=ingest_key_id,
    )
    if request.method == "GET":
        return render(request, "ingest/key_revoke.html", {"key": key})
    if key.revoke(request.user):
        messages.success(
            request,
            f"The key “{key.name}” was revoked. Systems sending with it now get 403 Forbidden.",
        )
    else:
        messages.info(request, f"The key “{key.name}” was already revoked.")
    return redirect("ingest:keys", slug=organization.slug)
