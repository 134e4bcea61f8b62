"""/api/v1/openapi.json, built once per process and stamped every STAMP_SECONDS.

Building the document (django-ninja walks every operation's models) took about a second of
server time on every request, and the docs page waits for it. What it says changes only
with the code, except its examples' timestamps: they are stamped near the time it is
served, so that an example is never too old to be accepted when sent. So the unstamped document
is built once per process (`IngestApi.unstamped_schema`), and a stamped copy, its JSON and
its ETag every STAMP_SECONDS (so an example is at most that old). The answer carries the
ETag with `Cache-Control: no-cache`: the browser asks again each time and, until the next
stamp, gets "304 Not Modified".
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from django import urls
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.http import parse_etags
from ninja.openapi.schema import OpenAPISchema
from ninja.openapi.views import openapi_view
from ninja.responses import NinjaJSONEncoder

from alerts_saas.ingest.sample import example_batch

if TYPE_CHECKING:
    from alerts_saas.ingest.api import IngestApi

STAMP_SECONDS = 30


@dataclass(frozen=True)
class Served:
    """The document as served from one stamp to the next: its JSON and its ETag."""

    stamped: datetime
    body: bytes
    etag: str


_lock = threading.Lock()
_unstamped: dict[str, OpenAPISchema] = {}  # by the API's root path
_served: dict[str, Served] = {}


def stamp(schema: dict[str, Any], now: datetime) -> None:
    """Put examples made at `now` into the document: an event batch for POST /events (also
    the timestamp field's example) and the change's own timestamp for POST /changes."""
    batch = example_batch(now)
    components = schema["components"]["schemas"]
    components["EventIn"]["properties"]["timestamp"]["examples"] = [batch[0]["timestamp"]]
    for path, item in schema["paths"].items():
        if path.endswith("/events") and "post" in item:
            _content(item["post"])["example"] = batch
        elif path.endswith("/changes") and "post" in item:
            content = _content(item["post"])
            example = content["example"]
            payload = {**example["payload"], "timestamp": batch[0]["timestamp"]}
            content["example"] = {**example, "payload": payload}


def _content(operation: dict[str, Any]) -> dict[str, Any]:
    return operation["requestBody"]["content"]["application/json"]


def served(api: IngestApi, now: datetime) -> Served:
    """The document stamped at the latest multiple of STAMP_SECONDS, built (and stamped)
    only when it is not yet."""
    root = api.get_root_path({})
    second = now.second - now.second % STAMP_SECONDS
    stamped = now.replace(second=second, microsecond=0)
    with _lock:
        found = _served.get(root)
        if found is not None and found.stamped == stamped:
            return found
        if root not in _unstamped:
            _unstamped[root] = api.unstamped_schema(path_prefix=root)
        schema = copy.deepcopy(_unstamped[root])
        stamp(schema, stamped)
        body = json.dumps(schema, cls=NinjaJSONEncoder).encode()
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        _served[root] = found = Served(stamped, body, etag)
        return found


def openapi_json(request: HttpRequest, api: IngestApi) -> HttpResponse:
    """The document, or 304 when the browser already holds this version."""
    document = served(api, timezone.now())
    held = parse_etags(request.headers.get("If-None-Match", ""))
    if document.etag in held:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(document.body, content_type="application/json")
    response["ETag"] = document.etag
    response["Cache-Control"] = "no-cache"
    return response


def routes(api: IngestApi) -> list[urls.URLPattern]:
    """openapi.json (this module's) and the docs page, as django-ninja would route them
    itself, under its names: its docs page finds the document by `openapi-json`, and our
    pages link to `openapi-view`. The API has no `openapi_url`, so each has one route."""
    return [
        urls.path("openapi.json", partial(openapi_json, api=api), name="openapi-json"),
        urls.path("docs", partial(openapi_view, api=api), name="openapi-view"),
    ]
