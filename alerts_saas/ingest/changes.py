"""POST /api/v1/changes: deploys and configuration changes, in PagerDuty's change event shape.

Each change is kept (the alert charts draw it) and forwarded to every PagerDuty service one
of the organization's enabled alerts pages, as a change event through the delivery engine
(integrations/pagerduty/changes.py). Like the events endpoint, the body is read by hand, so
that its size is checked first and one bad change is refused alone. The router is added to
the ingest API with its key authentication (api.py).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja import Router, Status
from pydantic import BaseModel, Field

from alerts_saas.ingest import limits
from alerts_saas.ingest.body import read_body
from alerts_saas.ingest.change_items import (
    MAX_LINKS,
    ChangeIn,
    ChangePayloadIn,
    LinkIn,
    judge,
)
from alerts_saas.ingest.models import ChangeEvent, IngestKey
from alerts_saas.ingest.parsing import Raw, Refused, load
from alerts_saas.ingest.schema import ErrorOut, ItemProblem
from integrations.pagerduty import changes as pagerduty_changes

MAX_CHANGES = 100
WHICH = pagerduty_changes.WHICH_SERVICES

router = Router()
log = logging.getLogger(__name__)


class ChangeResult(BaseModel):
    accepted: int = Field(description="Changes kept and forwarded.")
    rejected: int = Field(description="Changes refused; see `errors`.")
    errors: list[ItemProblem] = Field(description="Why each refused change was refused.")
    notes: list[ItemProblem] = Field(
        description="What was changed in kept changes to store them (a NUL character "
        "replaced, for one)."
    )
    services: list[str] = Field(description=f"The services they were sent to: {WHICH}.")
    message: str = Field(description="What happened, in words.")


def _change_schema() -> dict[str, Any]:
    """ChangeIn's JSON schema, inlined (the body is read by hand: the framework doesn't
    list its models)."""
    return {
        "type": "object",
        "description": ChangeIn.__doc__,
        "required": ["payload"],
        "properties": {
            "payload": ChangePayloadIn.model_json_schema(),
            "links": {
                "type": "array",
                "maxItems": MAX_LINKS,
                "items": LinkIn.model_json_schema(),
            },
        },
    }


REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    _change_schema(),
                    {
                        "type": "array",
                        "items": _change_schema(),
                        "minItems": 1,
                        "maxItems": MAX_CHANGES,
                    },
                ]
            },
            "example": {
                "payload": {
                    "summary": "Deployed checkout v2.14.0",
                    "source": "ci-pipeline",
                    "custom_details": {"version": "2.14.0", "commit": "9f1c2ab"},
                },
                "links": [{"href": "https://ci.example.com/builds/220", "text": "Build 220"}],
            },
        }
    },
}


class KeyRequest(HttpRequest):
    auth: IngestKey


@router.post(
    "/changes",
    response={
        202: ChangeResult,
        400: ChangeResult | ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        413: ErrorOut,
        429: ErrorOut,
        500: ErrorOut,
        503: ErrorOut,
    },
    summary="Report deploys and configuration changes",
    description=f"""One change, or an array of up to {MAX_CHANGES}, in PagerDuty's change
event shape (`payload.summary`, `payload.timestamp`, `payload.source`,
`payload.custom_details`, `links`). Each is sent to {WHICH}, as a PagerDuty change event
(it pages nobody; PagerDuty shows it beside the service's incidents), and drawn on your
alert charts. Each change is judged alone: the answer is 202 with the number accepted,
by index why any were refused (`errors`) and what was repaired in kept ones (`notes`);
400 if none was. An organization may send {settings.INGEST_CHANGES_PER_MINUTE:,} changes a
minute (PagerDuty takes about {settings.PAGERDUTY_EVENTS_PER_MINUTE:,} events a minute on each
service's key): over it, 429 with Retry-After, and nothing of the request is kept.""",
    openapi_extra={"requestBody": REQUEST_BODY},
)
def post_changes(request: KeyRequest) -> Status:
    key = request.auth
    raw = _items(read_body(request, settings.INGEST_MAX_BODY_BYTES))
    _take_allowance(key.organization_id, len(raw.items))
    now = timezone.now()
    judged = judge(raw.items, raw.clean, now)
    accepted = judged.changes
    services = pagerduty_changes.services_for(key.organization_id) if accepted else []
    if accepted:
        with transaction.atomic():
            saved = ChangeEvent.objects.bulk_create([_row(key, change, now) for change in accepted])
            pagerduty_changes.forward([(c.pk, _event(c)) for c in saved], services)
        key.touch()
    result = ChangeResult(
        accepted=len(accepted),
        rejected=len(judged.errors),
        errors=judged.errors,
        notes=judged.notes,
        services=[s.name for s in services],
        message=_message(len(accepted), len(judged.errors), services),
    )
    return Status(202 if accepted else 400, result)


def _take_allowance(organization_id: int, n: int) -> None:
    """Count `n` changes against the organization's INGEST_CHANGES_PER_MINUTE, or refuse
    the request (413 if it could never fit, 429 over the limit, 503 when counting fails),
    keeping nothing."""
    limit = settings.INGEST_CHANGES_PER_MINUTE
    if n > limit:
        raise Refused(
            413,
            f"Your organization may send {limit:,} changes a minute; this body has {n:,}. "
            f"Send at most {limit:,} at a time.",
        )
    try:
        verdict = limits.take_changes(organization_id, n)
    except Exception:
        log.exception("Checking the change rate of organization %s failed", organization_id)
        raise Refused(
            503,
            "We could not take these changes just now, and kept none of them. "
            "Send them again in a few seconds.",
            {"Retry-After": "5"},
        ) from None
    if not verdict.allowed:
        raise Refused(
            429,
            f"Your organization is over its limit of {limit:,} changes a minute (PagerDuty "
            f"takes about {settings.PAGERDUTY_EVENTS_PER_MINUTE:,} events a minute on each "
            f"service's key). None of these {n:,} was kept; send them again in "
            f"{verdict.retry_after} s.",
            {"Retry-After": str(verdict.retry_after)},
        )


@router.api_operation(
    ["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"],
    "/changes",
    auth=None,
    include_in_schema=False,
)
def changes_other_methods(request: HttpRequest) -> HttpResponse:
    response = JsonResponse({"message": "Send changes with POST; see /api/v1/docs."}, status=405)
    response["Allow"] = "POST"
    return response


def _items(body: bytes) -> Raw:
    """The changes in a body: one object, or an array of them."""
    data, clean = load(body)
    items = data if isinstance(data, list) else [data]
    if not items:
        raise Refused(400, "The array is empty: send at least one change.")
    if len(items) > MAX_CHANGES:
        raise Refused(
            413,
            f"Send at most {MAX_CHANGES} changes at a time; this body has {len(items)}.",
        )
    return Raw(items, clean)


def _row(key: IngestKey, change: ChangeIn, now: datetime) -> ChangeEvent:
    payload = change.payload
    return ChangeEvent(
        organization_id=key.organization_id,
        ingest_key=key,
        summary=payload.summary,
        source=payload.source or "",
        timestamp=payload.timestamp or now,
        links=[link.model_dump(exclude_none=True) for link in change.links],
        custom_details=payload.custom_details,
        received_at=now,
    )


def _event(change: ChangeEvent) -> dict[str, Any]:
    """The change as PagerDuty's change event, without its routing key."""
    payload: dict[str, Any] = {
        "summary": change.summary,
        "timestamp": change.timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    if change.source:
        payload["source"] = change.source
    if change.custom_details:
        payload["custom_details"] = change.custom_details
    event: dict[str, Any] = {"payload": payload}
    if change.links:
        event["links"] = change.links
    return event


def _message(accepted: int, rejected: int, services: list[Any]) -> str:
    kept = f"{accepted} change{'' if accepted == 1 else 's'} kept"
    refused = f", {rejected} refused (see errors)" if rejected else ""
    if not accepted:
        return f"No change was kept{refused}."
    if not services:
        return (
            f"{kept}{refused}. They show on your alert charts, but went to no PagerDuty "
            "service: none of your enabled alerts pages one."
        )
    names = ", ".join(s.name for s in services)
    return f"{kept}{refused}, and sent to PagerDuty: {names}."
