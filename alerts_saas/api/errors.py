"""The management API's errors: every one JSON, with a `message` in words."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from alerts_saas.api.schemas import FieldProblem
from alerts_saas.ingest.parsing import Refused


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
        errors = [
            {"field": _where(tuple(error.get("loc", ()))) or None, "message": _said(error)}
            for error in exc.errors
        ]
        words = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
        message = f"The request was not understood, and nothing was done. {words}".strip()
        return JsonResponse({"message": message, "errors": errors}, status=400)

    @api.exception_handler(HttpError)
    def unreadable(request: HttpRequest, exc: HttpError) -> HttpResponse:
        """The framework's refusal of a body it can't parse, in words."""
        message = (
            "The body is not JSON we can read, and nothing was done. Send a JSON object "
            "with Content-Type: application/json."
            if exc.status_code == 400
            else str(exc)
        )
        return JsonResponse({"message": message, "errors": []}, status=exc.status_code)

    @api.exception_handler(Http404)
    def missing(request: HttpRequest, exc: Http404) -> HttpResponse:
        return JsonResponse({"message": f"There is nothing at {request.path}."}, status=404)


def _said(error: dict[str, object]) -> str:
    kind, message = error.get("type"), str(error.get("msg", "is not valid"))
    if kind == "extra_forbidden":
        return "is not a field we know (check its spelling)"
    if kind == "missing":
        return "is required"
    if kind == "json_invalid":
        return "the body is not valid JSON"
    return message
