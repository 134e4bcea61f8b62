"""The event ingest API: POST /api/v1/events, with its OpenAPI schema and docs page.

Every answer is JSON with a message in words; bad input of any shape gets a 4xx, never a
500. The body is read by hand (not by the framework) so that its size is checked before it
is held in memory, and so that one bad event is refused alone rather than the batch.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, URLPattern, URLResolver, resolve, reverse
from django.utils import timezone
from ninja import NinjaAPI, Router, Status
from ninja.openapi.docs import Swagger
from ninja.openapi.schema import OpenAPISchema
from ninja.security import HttpBearer

from alerts_saas.alerts import evaluation
from alerts_saas.api.auth import refuse_other_kind
from alerts_saas.api.routes import register
from alerts_saas.api.schemas import COUNT_CAP
from alerts_saas.ingest import activity, api_document, changes, limits, refusals, sample
from alerts_saas.ingest.batch import judge
from alerts_saas.ingest.body import in_words, read_body
from alerts_saas.ingest.models import KEY_PREFIX, IngestKey, hash_key
from alerts_saas.ingest.parsing import Refused, parse
from alerts_saas.ingest.schema import (
    BATCH_LIMIT,
    MAX_DEPTH,
    ErrorOut,
    EventBatch,
    EventIn,
    IngestResult,
)

log = logging.getLogger(__name__)

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
BODY_LIMIT = in_words(settings.INGEST_MAX_BODY_BYTES)
# What each answer of POST /events means, in the schema.
ANSWERS = {
    "202": "Counted. Refused events, if any, are listed in errors by index.",
    "400": "Not JSON, not a batch, an empty batch or a malformed body (a message); or no "
    "event could be accepted (the result, with each event's reason in errors).",
    "401": "No ingest key, or not one of ours.",
    "403": "The ingest key was revoked.",
    "413": f"The body is over {BODY_LIMIT}, or the batch holds more than "
    f"{settings.INGEST_MAX_BATCH:,} events (the request's maxItems): nothing was kept.",
    "429": "Over the organization's events per minute: nothing was kept; Retry-After says "
    "when to send again.",
    "500": "A fault on our side, logged.",
    "503": "Counting is unavailable for a moment: nothing was kept; Retry-After says when to "
    "send again.",
}

DESCRIPTION = f"""
Send the events your systems produce; {settings.PRODUCT_NAME} counts those that match your
alerts and pages PagerDuty when an alert's condition holds.

Authenticate with an ingest key (Settings → Ingest keys): `Authorization: Bearer <key>`.

Each event is judged on its own: refused events are listed by index with the reason, and
the others are counted. Limits: {settings.INGEST_MAX_BATCH:,} events and {BODY_LIMIT} per
request (with a Content-Length or chunked), over either of which the batch is refused whole
with 413; objects and arrays nested at most {MAX_DEPTH} levels deep in an event, a deeper
event refused alone; {settings.INGEST_EVENTS_PER_MINUTE:,} events per minute per
organization.

Every answer, errors included, is JSON: a bad request gets a 4xx with a `message` in words.

The example batch (app `{sample.APP}`, level {sample.LEVEL}) is a real event when sent: alerts
whose conditions match it (for example one on every app) count it like any other.

**Managing alerts** (alerts, services, firings, deliveries, ingest keys): authenticate
with an API token (Settings → API tokens, owners and admins): `Authorization: Bearer
<token>`. A read token reads; a read-and-write token also changes (403 otherwise). Each
token may make {settings.API_REQUESTS_PER_MINUTE:,} requests a minute (429 with
Retry-After). Changes do what the same change on the pages does, under the same rules, the
alert page's buttons included: `POST /firings/{{id}}/resolve` resolves an open firing (409
if it already was), `POST /alerts/{{id}}/stop-watching` stops watching one value of an
alert that counts per value (a host taken down for good). An alert's answer carries its
version (`ETag`); send it back as `If-Match` with PUT, PATCH, DELETE, enable or disable,
and the change is made only if nobody changed the alert since (412 otherwise). Lists come
a page at a time (`page`, `per_page`), with `next` and `previous` links. History
(`/firings`, `/deliveries`, `/activity`) is counted up to {COUNT_CAP:,} (`count`
{COUNT_CAP} with `count_capped` true reads "{COUNT_CAP}+"), `page` reaches that far, and
`before` (a page's `next_before`, which `next` follows) walks older history at any depth.
Another organization's ids are 404. Every GET also answers HEAD (its headers, no body);
send each query parameter once (twice is 400); paths have no slash at the end.
"""


# Every batch's key lookup, written out: building it with the ORM cost as much CPU as the
# query itself (key_hash is unique). The table's name is a constant, not input.
_KEY_BY_HASH = f"SELECT * FROM {IngestKey._meta.db_table} WHERE key_hash = %s"  # noqa: S608


class IngestKeyAuth(HttpBearer):
    """A bearer ingest key. A missing or unknown key is 401 (an API token says so), a
    revoked one 403."""

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
        refuse_other_kind(token, KEY_PREFIX)
        key = next(iter(IngestKey.objects.raw(_KEY_BY_HASH, [hash_key(token)])), None)
        if key is None:
            raise Refused(
                401,
                "This ingest key is not valid. Check that it was copied whole.",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if key.is_revoked:
            refusals.record(key)  # counted, written at most once a minute: seen on the pages
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
    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        """Ninja's routes, and in front the document and docs page it adds only with an
        `openapi_url` (None here): the document served cached (`api_document.routes`)."""
        routes, app_name, namespace = super().urls
        return [*api_document.routes(self), *routes], app_name, namespace

    def get_openapi_schema(
        self, *args: Any, now: datetime | None = None, **kwargs: Any
    ) -> OpenAPISchema:
        """A fresh build, its examples stamped `now`. openapi.json serves one built once
        per process and stamped each minute (`api_document`)."""
        schema = self.unstamped_schema(*args, **kwargs)
        api_document.stamp(schema, now or timezone.now())
        return schema

    def unstamped_schema(self, *args: Any, **kwargs: Any) -> OpenAPISchema:
        """The schema without its examples' timestamps, with the request body's models (the
        body is read by hand, so the framework doesn't list them itself) and the answers
        of POST /events described in words."""
        schema = super().get_openapi_schema(*args, **kwargs)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (EventIn, EventBatch):
            found = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(found.pop("$defs", {}))
            components[model.__name__] = found
        for path, item in schema["paths"].items():
            if path.endswith("/events") and "post" in item:
                _describe_answers(item["post"])
        return schema


def _describe_answers(operation: dict[str, Any]) -> None:
    operation["responses"] = {
        str(status): answer for status, answer in operation["responses"].items()
    }
    for status, description in ANSWERS.items():
        operation["responses"][status]["description"] = description


class Docs(Swagger):
    """Swagger UI as django-ninja serves it from our static files, in the site's page
    (templates/api/docs.html): a way back to the site, and dark when the system is."""

    template = "api/docs.html"


api = IngestApi(
    title=f"{settings.PRODUCT_NAME} API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    openapi_url=None,  # served cached instead: `IngestApi.urls`
    docs=Docs(),
)


@api.exception_handler(Refused)
def refused(request: HttpRequest, exc: Refused) -> HttpResponse:
    response = JsonResponse({"message": exc.message}, status=exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


@api.exception_handler(Exception)
def fault(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A fault of ours, in JSON like every other answer (never an HTML page or a
    traceback), whether DEBUG is on or not."""
    log.error("The ingest API failed on %s %s", request.method, request.path, exc_info=exc)
    return JsonResponse(
        {
            "message": "Something went wrong on our side; it was logged and we will look "
            "into it. Try again in a minute."
        },
        status=500,
    )


# The docs page's group for sending events and changes (untagged, they sat under "default").
INGEST = "Ingest"


def _schema_ref(model: type) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


@api.post(
    "/events",
    auth=IngestKeyAuth(),
    tags=[INGEST],
    response={
        202: IngestResult,
        400: IngestResult | ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        413: ErrorOut,
        429: ErrorOut,
        500: ErrorOut,
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
                                "description": BATCH_LIMIT,
                            },
                            _schema_ref(EventBatch),
                        ]
                    }
                }
            },
        },
    },
)
def post_events(request: KeyRequest) -> Status:
    """Count a batch of events against the organization's alerts.

    The body is a JSON array of events (or `{"events": [...]}`). The answer is 202 with the
    number accepted, and the index and reason of each refused event; 400 if none was.
    """
    key = request.auth
    raw = parse(read_body(request, settings.INGEST_MAX_BODY_BYTES))
    try:
        verdict = limits.take(key.organization_id, len(raw.items))
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
    if judged.events:
        key.accepted_events()  # its use too, in the same write
    else:
        key.touch()
    rejected = len(raw.items) - len(judged.events)
    activity.add_refused(key.organization_id, rejected, time.time())
    result = IngestResult(
        accepted=len(judged.events),
        rejected=rejected,
        errors=judged.errors,
        notes=judged.notes,
    )
    return Status(202 if judged.events else 400, result)


@api.api_operation(
    [method for method in ALL_METHODS if method != "POST"], "/events", include_in_schema=False
)
def events_other_methods(request: HttpRequest) -> HttpResponse:
    response = JsonResponse({"message": "Send events with POST; see /api/v1/docs."}, status=405)
    response["Allow"] = "POST"
    return response


# Any other path: mounted after the management API's routes, so it shadows none of them.
fallback = Router()


@fallback.api_operation(ALL_METHODS, "/", include_in_schema=False)
def root(request: HttpRequest) -> HttpResponse:
    return _nothing_here(request)


@fallback.api_operation(ALL_METHODS, "/{path:rest}", include_in_schema=False)
def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    return _nothing_here(request)


def _nothing_here(request: HttpRequest) -> HttpResponse:
    """Any other path under the API: 404 in JSON, in words, even with DEBUG on. A path of
    ours with a slash at the end (which Django's APPEND_SLASH habit invites) names the path
    meant."""
    meant = _without_slash(request.path)
    if meant is not None:
        return JsonResponse(
            {
                "message": f"No such path: {request.path}. Did you mean {meant}? Paths here "
                "have no slash at the end."
            },
            status=404,
        )
    return JsonResponse(
        {
            "message": f"There is nothing at {request.path}. Events go to POST "
            f"{reverse('api:post_events')}; the API is described at "
            f"{reverse('api:openapi-json')}."
        },
        status=404,
    )


def _without_slash(path: str) -> str | None:
    """`path` without its trailing slashes, if that is one of the API's own paths."""
    bare = path.rstrip("/")
    if bare == path:
        return None
    try:
        match = resolve(bare)
    except Resolver404:
        return None
    if match.namespace != api.urls_namespace or match.url_name in ("root", "not_found"):
        return None
    return bare


register(api)
api.add_router("", changes.router, auth=IngestKeyAuth(), tags=[INGEST])
api.add_router("", fallback)
