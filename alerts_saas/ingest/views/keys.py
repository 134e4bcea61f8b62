"""Settings / Ingest keys: the keys a team's systems post events with.

The database keeps a key's hash, and the list shows its first characters. Its secret is
shown once, on the list the POST that makes it redirects to (`?created=<id>`; never cached).
Until that GET it waits in the session, which is safe: encrypted (`crypto.encrypt`), so the
session row never holds it in clear; under the organization's id and the key's, so another
organization's page finds nothing; and popped before it is shown, so it is shown once.
A reload shows the list with a note that the secret was shown once, instead of posting the
form again (refused: "already exists") or showing the secret twice. See shown_once.py.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods

from alerts_saas.accounts.access import TenantRequest, for_tenant, tenant_get, tenant_view
from alerts_saas.accounts.models import Role
from alerts_saas.accounts.services import lock_organization
from alerts_saas.ingest import refusals, revoke_effects, sample, shown_once
from alerts_saas.ingest.forms import IngestKeyForm
from alerts_saas.ingest.models import IngestKey
from alerts_saas.words import listed
from integrations.pagerduty import changes as pagerduty_changes

# The session key the secrets of keys just made wait under (shown_once.py).
WAITING = "ingest.ingest_key_secrets"

# The event the page offers to send: one an organization's ordinary alerts don't match.
SAMPLE_EVENTS = sample.batch_json()
# The alerts that would count it, named on the page up to this many.
NAMED_AT_MOST = 5


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
    created: int | None = None,
    secret: str = "",
) -> HttpResponse:
    """The list; with `created`, that key's secret (if not shown yet) or the note that it
    was shown once."""
    tenant = request.tenant
    keys = refusals.with_unwritten(
        list(
            for_tenant(request, IngestKey).select_related(
                "created_by", "revoked_by", "created_by_token", "revoked_by_token"
            )
        )
    )
    new_key = next((key for key in keys if key.pk == created), None)
    secret = secret if new_key is not None else ""
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
        context["sample"] = sample.event()
        counting = sample.alerts_counting(tenant.organization.pk)
        context["counting"] = listed([f"“{a.name}”" for a in counting], NAMED_AT_MOST)
        context["counting_many"] = len(counting) > 1
    return render(request, "ingest/keys.html", context, status=status)


@tenant_view()
@never_cache
@sensitive_variables("secret")
def keys(request: TenantRequest) -> HttpResponse:
    created, secret = shown_once.take(request, WAITING)
    return _page(request, created=created, secret=secret)


@tenant_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
@never_cache
@sensitive_variables("secret")
def create(request: TenantRequest) -> HttpResponse:
    organization = request.tenant.organization
    if request.method == "GET":  # an old tab or a bookmark: the form is on the list
        return redirect("ingest:keys", slug=organization.slug)
    with transaction.atomic():
        # One key creation at a time per organization, so two requests can't both pass
        # the duplicate-name check.
        lock_organization(organization)
        form = IngestKeyForm(request.POST, organization=organization)
        if not form.is_valid():
            return _page(request, form=form, status=400)
        key, secret = IngestKey.issue(organization, form.cleaned_data["name"], request.user)
    return shown_once.show_on_list(request, WAITING, "ingest:keys", key.pk, secret)


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
        effects = None if key.is_revoked else revoke_effects.of_revoking(key)
        return render(request, "ingest/key_revoke.html", {"key": key, "effects": effects})
    if key.revoke(request.user):
        messages.success(
            request,
            f"The key “{key.name}” was revoked. Systems sending with it now get 403 Forbidden.",
        )
    else:
        messages.info(request, f"The key “{key.name}” was already revoked.")
    return redirect("ingest:keys", slug=organization.slug)
