"""The management API's errors: every one JSON, with a `message` in words."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from alerts_saas.api.schemas import FieldProblem
from alerts_saas.ingest.parsing import Refused

# How deep a body may nest: an alert's is 3 deep (`pagerduty.custom_details`), a mute's 2.
MAX_BODY_DEPTH = 32
# A JSON string (skipped: its brackets are text), or one bracket.
_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{\]}]', re.DOTALL)


class TooDeep(ValueError):
    """A body nested deeper than MAX_BODY_DEPTH: refused before it is parsed (the standard
    parser recurses once per level, and gave up with a message that said nothing of it)."""


def check_depth(body: bytes) -> None:
    """`TooDeep` if `body` opens more than MAX_BODY_DEPTH objects or arrays inside each
    other. One pass, no recursion."""
    if body.count(b"[") + body.count(b"{") <= MAX_BODY_DEPTH:
        return
    level = 0
    for match in _STRUCTURE.finditer(body):
        bracket = match.group()
        if bracket in (b"[", b"{"):
            level += 1
            if level > MAX_BODY_DEPTH:
                raise TooDeep
        elif bracket in (b"]", b"}"):
            level -= 1


class Problems(Refused):
    """400: the body was read, but what it asks can't be done; each field at fault and why."""

    def __init__(self, message: str, problems: list[FieldProblem]) -> None:
        words = " ".join(f"{p.field or 'body'}: {p.message}" for p in problems)
        super().__init__(400, f"{message} {words}".strip())
        self.problems = problems


def _where(location: tuple[object, ...]) -> str:
    """A pydantic error's location as the body or query names it ("condition.threshold")."""
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    if len(parts) > 1 and parts[0] in ("body", "filters", "paging", "payload"):
        parts = parts[1:]
    return ".".join(parts)


def install(api: NinjaAPI) -> None:
    @api.exception_handler(Problems)
    def problems(request: HttpRequest, exc: Problems) -> HttpResponse:
        errors = [p.model_dump() for p in exc.problems]
        return JsonResponse({"message": exc.message, "errors": errors}, status=400)

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        """The framework's own checks (types, unknown fields, a query's bounds), as 400 in
        words like every other refusal."""
        errors = [_problem(request, error) for error in exc.errors]
        words = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
        message = f"The request was not understood, and nothing was done. {words}".strip()
        return JsonResponse({"message": message, "errors": errors}, status=400)

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        """Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413, in words."""
        return JsonResponse(
            {
                "message": f"The body is larger than the {body_limit()} this API takes, and "
                "nothing was done. Send less (an alert's description, for instance, is far "
                "shorter)."
            },
            status=413,
        )

    @api.exception_handler(HttpError)
    def unreadable(request: HttpRequest, exc: HttpError) -> HttpResponse:
        """The framework's refusal of a body it can't parse, in words."""
        if isinstance(exc.__cause__, TooDeep):
            message = (
                f"The body nests objects or arrays more than {MAX_BODY_DEPTH} levels deep, "
                "deeper than any body this API takes (an alert's is 3 levels deep), and "
                "nothing was done."
            )
        elif exc.status_code == 400:
            message = (
                "The body is not JSON we can read, and nothing was done. Send a JSON object "
                "with Content-Type: application/json."
            )
        else:
            message = str(exc)
        return JsonResponse({"message": message, "errors": []}, status=exc.status_code)

    @api.exception_handler(Http404)
    def missing(request: HttpRequest, exc: Http404) -> HttpResponse:
        return JsonResponse({"message": f"There is nothing at {request.path}."}, status=404)


def body_limit() -> str:
    """The largest body the management API reads, in words ("2.5 MiB (2,621,440 bytes)")."""
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    return f"{size / 1_048_576:g} MiB ({size:,} bytes)"


CHUNKED = (
    "is required: send the body with a Content-Length (chunked bodies are taken only by "
    "/events and /changes)"
)


def field_problems(errors: list[Any]) -> list[FieldProblem]:
    """pydantic's errors as the body's fields and words, as the framework's are given."""
    return [
        FieldProblem(field=_where(tuple(e.get("loc", ()))) or None, message=_said(e))
        for e in errors
    ]


def _problem(request: HttpRequest, error: dict[str, object]) -> dict[str, str | None]:
    """One of the framework's errors as a field and words. A bad key of an object (its
    location ends "[key]") is the object's problem: the key itself may not print."""
    raw = error.get("loc", ())
    location: tuple[object, ...] = tuple(raw) if isinstance(raw, (list, tuple)) else ()
    message = _said(error)
    if location and location[-1] == "[key]":
        location, message = location[:-2], f"a key {message}"
    field = _where(location) or None
    if (
        error.get("type") == "missing"
        and field == "body"
        and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    ):
        message = CHUNKED
    return {"field": field, "message": message}


def _said(error: dict[str, object]) -> str:
    kind, message = error.get("type"), str(error.get("msg", "is not valid"))
    if kind == "extra_forbidden":
        return "is not a field we know (check its spelling)"
    if kind == "missing":
        return "is required"
    if error.get("input", "") is None and str(kind).endswith("_type"):
        return "can't be null"
    if kind == "json_invalid":
        return "the body is not valid JSON"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "must be a whole number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    context = error.get("ctx")
    bounds = context if isinstance(context, dict) else {}
    if kind == "less_than_equal":
        return f"is at most {bounds.get('le')}"
    if kind == "greater_than_equal":
        return f"is at least {bounds.get('ge')}"
    if kind == "string_unicode":
        return (
            "is not valid Unicode text: it has half of a surrogate pair (an escape from "
            "\\ud800 to \\udfff without its other half). Send the character itself, or both "
            "halves of its pair"
        )
    return message
