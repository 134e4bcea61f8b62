"""/ingest-keys: list, create (the secret given once) and revoke, as Settings → Ingest
keys does."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from ninja import Query, Router, Status

from alerts_saas.accounts.services import lock_organization
from alerts_saas.api.auth import READ, WRITE, TokenRequest
from alerts_saas.api.errors import Problems
from alerts_saas.api.paging import Paging, page_of
from alerts_saas.api.schemas import (
    FieldProblem,
    IngestKeyIn,
    IngestKeyOut,
    IngestKeyPage,
    InvalidOut,
    NewIngestKeyOut,
)
from alerts_saas.ingest.forms import IngestKeyForm
from alerts_saas.ingest.models import IngestKey
from alerts_saas.ingest.parsing import Refused
from alerts_saas.ingest.schema import ErrorOut

router = Router(tags=["Ingest keys"])

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}


def _shown(key: IngestKey) -> dict[str, Any]:
    return {
        "id": key.pk,
        "name": key.name,
        "hint": key.hint,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
        "is_revoked": key.is_revoked,
    }


@router.get("/ingest-keys", auth=READ, response={200: IngestKeyPage, **ERRORS, 400: InvalidOut})
def list_ingest_keys(request: TokenRequest, paging: Query[Paging]) -> dict[str, Any]:
    """The organization's ingest keys: active ones first, newest first."""
    keys = IngestKey.objects.filter(organization=request.auth.organization)
    found, facts = page_of(
        request, keys.order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-pk"), paging
    )
    return {**facts, "items": [_shown(key) for key in found]}


@router.post("/ingest-keys", auth=WRITE, response={201: NewIngestKeyOut, **ERRORS, 400: InvalidOut})
def create_ingest_key(request: TokenRequest, body: IngestKeyIn) -> Status:
    """A new ingest key. Its secret (`key`) is in this answer only: keep it now."""
    organization = request.auth.organization
    with transaction.atomic():
        lock_organization(organization)  # one at a time: the name check holds
        form = IngestKeyForm({"name": body.name}, organization=organization)
        if not form.is_valid():
            raise Problems(
                "The key was not created.",
                [
                    FieldProblem(field=name, message=str(message))
                    for name, messages in form.errors.items()
                    for message in messages
                ],
            )
        key, secret = IngestKey.issue(
            organization, form.cleaned_data["name"], created_by_token=request.auth
        )
    return Status(201, {**_shown(key), "key": secret})


@router.post(
    "/ingest-keys/{ingest_key_id}/revoke", auth=WRITE, response={200: IngestKeyOut, **ERRORS}
)
def revoke_ingest_key(request: TokenRequest, ingest_key_id: int) -> dict[str, Any]:
    """Revoke a key: events sent with it get 403 from now on. Revoking a revoked key
    changes nothing."""
    key = IngestKey.objects.filter(organization=request.auth.organization, pk=ingest_key_id).first()
    if key is None:
        raise Refused(404, f"There is no ingest key {ingest_key_id} in this organization.")
    key.revoke(None, revoked_by_token=request.auth)
    return _shown(key)
