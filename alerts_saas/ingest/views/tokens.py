"""Settings / API tokens: what a team's tools (Terraform, CI) manage the organization with,
through the management API. Owners and admins only: a token can change what pages whom.

The database keeps a token's hash; its secret is shown once, on the list the POST that
makes it redirects to (shown_once.py: kept encrypted in the session until then). A reload
shows the list again with a note that the secret was shown once.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods

from alerts_saas.accounts.access import TenantRequest, for_tenant, tenant_get, tenant_view
from alerts_saas.accounts.models import Role
from alerts_saas.accounts.services import lock_organization
from alerts_saas.ingest import shown_once
from alerts_saas.ingest.forms import ApiTokenForm
from alerts_saas.ingest.models import ApiToken

# The session key the secrets of tokens just made wait under (shown_once.py).
WAITING = "ingest.api_token_secrets"


def _page(
    request: TenantRequest,
    form: ApiTokenForm | None = None,
    status: int = 200,
    created: int | None = None,
    secret: str = "",
) -> HttpResponse:
    """The list; with `created`, that token's secret (if not shown yet) or the note that it
    was shown once."""
    tokens = list(
        for_tenant(request, ApiToken)
        .select_related("created_by", "revoked_by")
        .annotate(creator_may=ExpressionWrapper(ApiToken.creator_may_hold(), BooleanField()))
    )
    new_token = next((token for token in tokens if token.pk == created), None)
    context = {
        "tokens": tokens,
        "form": form or ApiTokenForm(organization=request.tenant.organization),
        "new_token": new_token,
        "secret": secret if new_token is not None else "",
        "api_docs_url": reverse("api:openapi-view"),
        "api_alerts_url": request.build_absolute_uri(reverse("api:list_alerts")),
        "settings_tab": "api_tokens",
    }
    return render(request, "ingest/tokens.html", context, status=status)


@tenant_view(Role.ADMIN)
@never_cache
@sensitive_variables("secret")
def tokens(request: TenantRequest) -> HttpResponse:
    created, secret = shown_once.take(request, WAITING)
    return _page(request, created=created, secret=secret)


@tenant_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
@never_cache
@sensitive_variables("secret")
def create(request: TenantRequest) -> HttpResponse:
    organization = request.tenant.organization
    if request.method == "GET":  # an old tab or a bookmark: the form is on the list
        return redirect("ingest:tokens", slug=organization.slug)
    with transaction.atomic():
        lock_organization(organization)  # one at a time: the name check holds
        form = ApiTokenForm(request.POST, organization=organization)
        if not form.is_valid():
            return _page(request, form=form, status=400)
        token, secret = ApiToken.issue(
            organization, form.cleaned_data["name"], request.user, scope=form.cleaned_data["scope"]
        )
    return shown_once.show_on_list(request, WAITING, "ingest:tokens", token.pk, secret)


@tenant_view(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def revoke(request: TenantRequest, api_token_id: int) -> HttpResponse:
    token = tenant_get(request, ApiToken.objects.select_related("revoked_by"), pk=api_token_id)
    if request.method == "GET":
        return render(request, "ingest/token_revoke.html", {"token": token})
    if token.revoke(request.user):
        messages.success(
            request,
            f"The token “{token.name}” was revoked. "
            "Requests made with it now get 401 Unauthorized.",
        )
    else:
        messages.info(request, f"The token “{token.name}” was already revoked.")
    return redirect("ingest:tokens", slug=request.tenant.organization.slug)
