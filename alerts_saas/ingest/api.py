"""The event ingest API: POST /api/v1/events, with its OpenAPI schema and docs page.

Every answer is JSON with a message in words; bad input of any shape gets a 4xx, never a
500. The body is read by hand (not by the framework) so that its size is checked before it
is held in memory, and so that one bad event is refused alone rather than the batch.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja import NinjaAPI, Status
from ninja.openapi.schema import OpenAPISchema
from ninja.security import HttpBearer

from alerts_saas.alerts import evaluation
from alerts_saas.ingest import limits
from alerts_saas.ingest.batch import Refused, judge, parse
from alerts_saas.ingest.models import IngestKey, hash_key
from alerts_saas.ingest.schema import ErrorOut, EventBatch, EventIn, IngestResult

log = logging.getLogger(__name__)

DESCRIPTION = f"""
Send the events your systems produce; {settings.PRODUCT_NAME} counts those that match your
alerts and pages PagerDuty when an alert's condition holds.

Authenticate with an ingest key (Settings → Ingest keys): `Authorization: Bearer <key>`.

Each event is judged on its own: refused events are listed by index with the reason, and
the others are counted. Limits: {settings.INGEST_MAX_BATCH} events and
{settings.INGEST_MAX_BODY_BYTES // (1024 * 1024)} MiB per request;
{settings.INGEST_EVENTS_PER_MINUTE:,} events per minute per organization.
"""


class IngestKeyAuth(HttpBearer):
    """A bearer ingest key. A missing or unknown key is 401, a revoked one 403."""

    def __call__(self, request: HttpRequest) -> IngestKey:
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Refused(
                401,
                "Send your ingest key as “Authorization: Bearer <key>”. "
                "Create one under Settings → Ingest keys.",
                {"WWW-Authenticate": "Bearer"},
            )
        return self.authenticate(request, secret.strip())

    def authenticate(self, request: HttpRequest, token: str) -> IngestKey:
        key = IngestKey.objects.filter(key_hash=hash_key(token)).first()
        if key is None:
            raise Refused(
                401,
                "This ingest key is not valid. Check that it was copied whole.",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if key.is_revoked:
            raise Refused(
                403,
                f"This ingest key (“{key.name}”) was revoked on "
                f"{key.revoked_at:%Y-%m-%d %H:%M} UTC. Create a new one under "
                "Settings → Ingest keys.",
            )
        return key


class KeyRequest(HttpRequest):
    """A request that IngestKeyAuth let through: django-ninja sets `auth` to the key."""

    auth: IngestKey


class IngestApi(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> OpenAPISchema:
        """The schema, with the request body's models: the body is read by hand, so the
        framework doesn't list them itself."""
        schema = super().get_openapi_schema(*args, **kwargs)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (EventIn, EventBatch):
            found = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(found.pop("$defs", {}))
            components[model.__name__] = found
        return schema


api = IngestApi(
    title=f"{settings.PRODUCT_NAME} ingest API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
)


@api.exception_handler(Refused)
def refused(request: HttpRequest, exc: Refused) -> HttpResponse:
    response = JsonResponse({"message": exc.message}, status=exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def _schema_ref(model: type) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


@api.post(
    "/events",
    auth=IngestKeyAuth(),
    response={
        202: IngestResult,
        400: IngestResult | ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        413: ErrorOut,
        429: ErrorOut,
        503: ErrorOut,
    },
    summary="Send a batch of events",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {
                                "type": "array",
                                "items": _schema_ref(EventIn),
                                "maxItems": settings.INGEST_MAX_BATCH,
                                "minItems": 1,
                            },
                            _schema_ref(EventBatch),
                        ]
                    }
                }
            },
        },
        "responses": {
            "202": {"description": "Counted. Refused events, if any, are listed in errors."},
            "400": {"description": "Not JSON, not a batch, or no event could be accepted."},
        },
    },
)
def post_events(request: KeyRequest) -> Status:
    """Count a batch of events against the organization's alerts.

    The body is a JSON array of events (or `{"events": [...]}`). The answer is 202 with the
    number accepted, and the index and reason of each refused event; 400 if none was.
    """
    key = request.auth
    raw = parse(_read_body(request))
    try:
        verdict = limits.take(key.organization_id, len(raw))
    except Exception:
        log.exception("Checking the event rate of organization %s failed", key.organization_id)
        raise Refused(
            503,
            "We could not take these events just now, and kept none of them. "
            "Send the batch again in a few seconds.",
            {"Retry-After": "5"},
        ) from None
    if not verdict.allowed:
        raise Refused(
            429,
            f"Your organization is over its limit of "
            f"{settings.INGEST_EVENTS_PER_MINUTE:,} events a minute. Nothing in "
            f"this batch was kept; send it again in {verdict.retry_after} s.",
            {"Retry-After": str(verdict.retry_after)},
        )
    judged = judge(raw, timezone.now())
    if judged.events:
        try:
            evaluation.record(key.organization_id, judged.events)
        except Exception:
            log.exception(
                "Recording %d events for organization %s failed",
                len(judged.events),
                key.organization_id,
            )
            raise Refused(
                503,
                "We could not count these events just now, and kept none of "
                "them. Send the batch again in a few seconds.",
                {"Retry-After": "5"},
            ) from None
    key.touch()
    result = IngestResult(
        accepted=len(judged.events),
        rejected=len(raw) - len(judged.events),
        errors=judged.errors,
        notes=judged.notes,
    )
    return Status(202 if judged.events else 400, result)


def _read_body(request: HttpRequest) -> bytes:
    """The body, refused with 413 before it is read when it is over the limit."""
    limit = settings.INGEST_MAX_BODY_BYTES
    too_big = Refused(
        413, f"The body is over {limit // (1024 * 1024)} MiB. Send fewer events per request."
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused(400, "The Content-Length header is not a number.") from None
    if declared > limit:
        raise too_big
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_big
    return body
