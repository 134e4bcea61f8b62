"""POST /api/v1/changes: deploys and configuration changes, in PagerDuty's change event shape.

Each change is kept (the alert charts draw it) and forwarded to every PagerDuty service one
of the organization's enabled alerts pages, as a change event through the delivery engine
(integrations/pagerduty/changes.py). Like the events endpoint, the body is read by hand, so
that its size is checked first and one bad change is refused alone. The router is added to
the ingest API with its key authentication (api.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja import Router, Status
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alerts_saas.ingest.body import read_body
from alerts_saas.ingest.models import ChangeEvent, IngestKey
from alerts_saas.ingest.parsing import Refused
from alerts_saas.ingest.schema import ErrorOut, ItemProblem
from integrations.pagerduty import changes as pagerduty_changes

MAX_CHANGES = 100
MAX_LINKS = 20
MAX_SUMMARY = 1024
WHICH = pagerduty_changes.WHICH_SERVICES

router = Router()


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    href: str = Field(max_length=2048, pattern=r"^https?://\S+$", description="An http(s) address.")
    text: str | None = Field(None, max_length=1024)


class ChangePayloadIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    summary: str = Field(
        min_length=1,
        max_length=MAX_SUMMARY,
        description="What changed, in a line.",
        examples=["Deployed checkout v2.14.0"],
    )
    timestamp: datetime | None = Field(
        None,
        description="When it changed: ISO 8601 (UTC if no offset is given). Defaults to when "
        "it arrives; at most 5 minutes ahead of our clock.",
    )
    source: str | None = Field(None, max_length=255, examples=["ci-pipeline"])
    custom_details: dict[str, Any] = Field(
        default_factory=dict, examples=[{"version": "2.14.0", "commit": "9f1c2ab"}]
    )


class ChangeIn(BaseModel):
    """One change, as PagerDuty's change events carry it (no routing key: yours is the
    ingest key; fields we don't use are ignored)."""

    model_config = ConfigDict(extra="ignore")

    payload: ChangePayloadIn
    links: list[LinkIn] = Field(default_factory=list, max_length=MAX_LINKS)


class ChangeResult(BaseModel):
    accepted: int = Field(description="Changes kept and forwarded.")
    rejected: int = Field(description="Changes refused; see `errors`.")
    errors: list[ItemProblem] = Field(description="Why each refused change was refused.")
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
        500: ErrorOut,
    },
    summary="Report deploys and configuration changes",
    description=f"""One change, or an array of up to {MAX_CHANGES}, in PagerDuty's change
event shape (`payload.summary`, `payload.timestamp`, `payload.source`,
`payload.custom_details`, `links`). Each is sent to {WHICH}, as a PagerDuty change event
(it pages nobody; PagerDuty shows it beside the service's incidents), and drawn on your
alert charts. The answer is 202 with the number accepted and, by index, why any were
refused; 400 if none was.""",
    openapi_extra={"requestBody": REQUEST_BODY},
)
def post_changes(request: KeyRequest) -> Status:
    key = request.auth
    items = _items(read_body(request, settings.INGEST_MAX_BODY_BYTES))
    now = timezone.now()
    accepted: list[ChangeIn] = []
    errors: list[ItemProblem] = []
    for index, item in enumerate(items):
        problem = _judge(index, item, now)
        if isinstance(problem, ItemProblem):
            errors.append(problem)
        else:
            accepted.append(problem)
    services = pagerduty_changes.services_for(key.organization_id) if accepted else []
    if accepted:
        with transaction.atomic():
            saved = ChangeEvent.objects.bulk_create([_row(key, change, now) for change in accepted])
            pagerduty_changes.forward([(c.pk, _event(c)) for c in saved], services)
        key.touch()
    result = ChangeResult(
        accepted=len(accepted),
        rejected=len(errors),
        errors=errors,
        services=[s.name for s in services],
        message=_message(len(accepted), len(errors), services),
    )
    return Status(202 if accepted else 400, result)


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


def _items(body: bytes) -> list[Any]:
    """The changes in a body: one object, or an array of them."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refused(400, f"The body is not valid JSON ({exc}).") from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise Refused(400, "The array is empty: send at least one change.")
    if len(items) > MAX_CHANGES:
        raise Refused(
            413,
            f"Send at most {MAX_CHANGES} changes at a time; this body has {len(items)}.",
        )
    return items


def _judge(index: int, item: Any, now: datetime) -> ChangeIn | ItemProblem:
    """The change, or why it is refused, in words."""
    if not isinstance(item, dict):
        return ItemProblem(
            index=index, message="A change is an object with a “payload” (and its “summary”)."
        )
    try:
        change = ChangeIn.model_validate(item)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        if first["type"] == "missing":
            words = f"“{field}” is missing."
        elif first["type"] == "string_pattern_mismatch":
            words = f"“{field}” is not an http or https address."
        else:
            words = f"“{field}”: {first['msg']}."
        return ItemProblem(index=index, field=field, message=words)
    if not change.payload.summary.strip():
        return ItemProblem(
            index=index, field="payload.summary", message="“payload.summary” is blank."
        )
    stamp = change.payload.timestamp
    if stamp is not None:
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        if stamp > now + settings.INGEST_MAX_FUTURE:
            return ItemProblem(
                index=index,
                field="payload.timestamp",
                message="“payload.timestamp” is ahead of our clock by more than "
                f"{int(settings.INGEST_MAX_FUTURE.total_seconds() // 60)} minutes.",
            )
        change.payload.timestamp = stamp
    return change


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
