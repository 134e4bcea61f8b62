"""/ingest-keys: list, create (the secret given once) and revoke, as Settings → Ingest
keys does; a revoke answers with the absence alerts it may set off, as the key's revoke
page names them before the click (`revoke_effects`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F
from ninja import Query, Router, Status
from pydantic import BaseModel, Field

from alerts_saas.accounts.services import lock_organization
from alerts_saas.alerts.models import Alert
from alerts_saas.api import lengths
from alerts_saas.api.auth import READ, WRITE, TokenRequest
from alerts_saas.api.errors import Problems
from alerts_saas.api.paging import Paging, page_of
from alerts_saas.api.schemas import Closed, FieldProblem, InvalidOut, PageOut
from alerts_saas.ingest import refusals, revoke_effects
from alerts_saas.ingest.forms import IngestKeyForm
from alerts_saas.ingest.models import IngestKey
from alerts_saas.ingest.parsing import Refused
from alerts_saas.ingest.schema import ErrorOut

router = Router(tags=["Ingest keys"])

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}


class IngestKeyIn(Closed):
    name: lengths.KeyName


class IngestKeyOut(BaseModel):
    id: int
    name: str
    hint: str = Field(description="The key's first characters.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    is_revoked: bool
    refused_batches: int = Field(
        description="Batches sent with it since it was revoked, each refused (403): about "
        "how many. A sender still using the key loses its events: give it a new key."
    )
    last_refused_at: datetime | None = Field(description="The last of those (to a minute).")


class NewIngestKeyOut(IngestKeyOut):
    key: str = Field(description="The secret: shown this once, never again.")


class IngestKeyPage(PageOut):
    items: list[IngestKeyOut]


class AbsenceAlertOut(BaseModel):
    id: int
    name: str
    window_minutes: int


class SetOffOut(BaseModel):
    """The absence alerts a revoke may set off, as the key's revoke page names them before
    the click. Tripwire doesn't record which key sent an event: this is inferred from when
    each key last had events accepted (at most a minute stale; changes and batches refused
    whole don't count) and each alert's window, and says no more."""

    will_fire: list[AbsenceAlertOut] = Field(
        description="Enabled absence alerts that count events in their window now, a window "
        "that saw no other key have events accepted, so the events they count came with this "
        "key: once those stop, each fires within its window unless they come in with another "
        "key by then."
    )
    may_fire: list[AbsenceAlertOut] = Field(
        description="Enabled absence alerts that count events which came with this key or "
        "with another one that had events accepted within their window: if theirs came with "
        "this key, each fires within its window."
    )
    already_firing: list[AbsenceAlertOut] = Field(
        description="Enabled absence alerts that count all events together, whose window saw "
        "this key have events accepted, and that fire already: not the revoke's doing."
    )
    counting_nothing: list[AbsenceAlertOut] = Field(
        description="Enabled absence alerts whose window saw this key have events accepted "
        "but that count no event in it now: they fire (or wait to) whether or not the key is "
        "revoked, so the revoke sets none of them off."
    )


class RevokedIngestKeyOut(IngestKeyOut):
    absence_alerts_set_off: SetOffOut | None = Field(
        description="The absence alerts this revoke may set off (`will_fire`, `may_fire`; "
        "both empty when it sets off none), and apart those it does not, though this key had "
        "events accepted in their window (`already_firing`, `counting_nothing`). Null when "
        "this call revoked nothing: the key was revoked already."
    )


def _shown(key: IngestKey) -> dict[str, Any]:
    return {
        "id": key.pk,
        "name": key.name,
        "hint": key.hint,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
        "is_revoked": key.is_revoked,
        "refused_batches": key.refused_batches,
        "last_refused_at": key.refused_at,
    }


@router.get("/ingest-keys", auth=READ, response={200: IngestKeyPage, **ERRORS, 400: InvalidOut})
def list_ingest_keys(request: TokenRequest, paging: Query[Paging]) -> dict[str, Any]:
    """The organization's ingest keys: active ones first, newest first."""
    keys = IngestKey.objects.filter(organization=request.auth.organization)
    found, facts = page_of(
        request, keys.order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-pk"), paging
    )
    return {**facts, "items": [_shown(key) for key in refusals.with_unwritten(list(found))]}


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
    "/ingest-keys/{ingest_key_id}/revoke",
    auth=WRITE,
    response={200: RevokedIngestKeyOut, **ERRORS},
)
def revoke_ingest_key(request: TokenRequest, ingest_key_id: int) -> dict[str, Any]:
    """Revoke a key: events sent with it get 403 from now on. The answer names the absence
    alerts that may fire for it (`absence_alerts_set_off`). Revoking a revoked key changes
    nothing."""
    key = IngestKey.objects.filter(organization=request.auth.organization, pk=ingest_key_id).first()
    if key is None:
        raise Refused(404, f"There is no ingest key {ingest_key_id} in this organization.")
    effects = None if key.is_revoked else revoke_effects.of_revoking(key)  # while it works
    revoked = key.revoke(None, revoked_by_token=request.auth)
    return {**_shown(key), "absence_alerts_set_off": _set_off(effects) if revoked else None}


def _set_off(effects: revoke_effects.Effects | None) -> dict[str, Any] | None:
    """The revoke's `absence_alerts_set_off`: each list whole (the page names ten)."""
    if effects is None:
        return None
    return {
        "will_fire": [_alert(a) for a in effects.will_fire],
        "may_fire": [_alert(a) for a in effects.may_fire],
        "already_firing": [_alert(a) for a in effects.already_firing],
        "counting_nothing": [_alert(a) for a in effects.counting_nothing],
    }


def _alert(alert: Alert) -> dict[str, Any]:
    return {"id": alert.pk, "name": alert.name, "window_minutes": alert.window_minutes}
