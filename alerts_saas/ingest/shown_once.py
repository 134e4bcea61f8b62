"""A new secret (an ingest key's, an API token's) shown once, on the list its create
redirects to.

The POST that makes one keeps its secret in the session until the next GET of the list
(`?created=<id>`): encrypted (`crypto.encrypt`), under "<organization id>:<id>", and popped
from the session before the page shows it. So a reload, or the browser's back and forward,
finds nothing waiting: the list again with a note that the secret was shown once, never a
second POST (a second secret, or "already exists") nor the secret twice. The session row
never holds it in clear, and another organization's id in the address finds nothing.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables

from alerts_saas import crypto
from alerts_saas.accounts.access import TenantRequest
from alerts_saas.ids import as_id


def _slot(request: TenantRequest, object_id: int) -> str:
    return f"{request.tenant.organization.pk}:{object_id}"


@sensitive_variables("secret")
def show_on_list(
    request: TenantRequest, kind: str, list_url: str, object_id: int, secret: str
) -> HttpResponseRedirect:
    """Keep `secret` (session key `kind`) for the list's next GET, and send the browser
    there: the URL named `list_url`, with `?created=<object_id>`."""
    waiting: dict[str, str] = request.session.get(kind, {})
    waiting[_slot(request, object_id)] = crypto.encrypt(secret)
    request.session[kind] = waiting
    slug = request.tenant.organization.slug
    return redirect(f"{reverse(list_url, args=[slug])}?created={object_id}")


@sensitive_variables("ciphertext")
def take(request: TenantRequest, kind: str) -> tuple[int | None, str]:
    """The id in `?created=` (None without one) and its secret: the first time only, and
    "" after (or if the encryption key it was kept under has since been retired)."""
    created = as_id(request.GET.get("created", ""))
    if created is None:
        return None, ""
    waiting: dict[str, str] = request.session.get(kind, {})
    ciphertext = waiting.pop(_slot(request, created), None)
    if ciphertext is None:
        return created, ""
    if waiting:  # gone from the session before it is shown: shown once
        request.session[kind] = waiting
    else:
        del request.session[kind]
    try:
        return created, crypto.decrypt(ciphertext)
    except InvalidToken:
        return created, ""
