"""The management API's routes and error answers, added to the one API object."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI, Router
from ninja.parser import Parser

from alerts_saas.api import activity, alerts, errors, firing_actions, history, keys, mutes
from alerts_saas.api.schemas import FieldProblem, InvalidOut
from alerts_saas.ingest.schema import ErrorOut

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def register(api: NinjaAPI) -> None:
    errors.install(api)
    routers = (
        alerts.router,
        firing_actions.router,
        history.router,
        mutes.router,
        keys.router,
        activity.router,
    )
    for router in routers:
        _document_refusals(router)
        _refuse_unknown_parameters(router)
        _refuse_other_methods(router)
        api.add_router("", router)
    api.parser = OnceEach(routers)
    _keep_nulls(api)


def _keep_nulls(api: NinjaAPI) -> None:
    """The framework drops each error's input (it may be large); keep whether it was null,
    so that a null where a value must be is said as such ("can't be null"), not as a type
    error ("Input should be a valid string")."""
    framework = api.validation_error_from_error_contexts

    def marked(contexts: list[Any]) -> Any:
        error = framework(contexts)
        nulls = [
            found.get("input", "") is None
            for context in contexts
            for found in context.pydantic_validation_error.errors(include_url=False)
        ]
        for found, null in zip(error.errors, nulls, strict=False):
            if null:
                found["input"] = None
        return error

    api.validation_error_from_error_contexts = marked  # type: ignore[method-assign,assignment]


def _document_refusals(router: Router) -> None:
    """The refusals the framework answers before an operation runs, in the document: 413
    for a body over DATA_UPLOAD_MAX_MEMORY_SIZE (`errors.too_big`), 400 for a path id that
    is not a whole number (`errors.invalid`). The framework has no public way to make an
    answer's model (its own pagination calls this same private method), and writing the
    answers into `openapi_extra` by hand would skip its model-to-schema step."""
    for view in router.path_operations.values():
        for operation in view.operations:
            sources = {model.__ninja_param_source__ for model in operation.models}
            answers = operation.response_models
            if "body" in sources and 413 not in answers:
                answers[413] = operation._create_response_model(ErrorOut)
            if "path" in sources and 400 not in answers:
                answers[400] = operation._create_response_model(InvalidOut)


def _refuse_unknown_parameters(router: Router) -> None:
    """An operation that reads query parameters (the lists' filters and paging) answers 400
    to one it doesn't know, naming those it takes: ignored, a misspelt filter would list
    everything as if it had matched. (A Query schema's extra="forbid" can't do it: the
    framework hands each schema only the names it declares.)"""
    for view in router.path_operations.values():
        for operation in view.operations:
            known = [
                name
                for model in operation.models
                if model.__ninja_param_source__ == "query"
                for name in getattr(model, "__ninja_flatten_map__", {})
            ]
            if known:
                operation.view_func = _knowing(operation.view_func, known)


def _knowing(view: Callable[..., Any], known: list[str]) -> Callable[..., Any]:
    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        unknown = [name for name in request.GET if name not in known]
        if unknown:
            raise errors.Problems(
                f"The request was not understood, and nothing was done. {request.path} takes "
                f"the query parameters {', '.join(known)}.",
                [
                    FieldProblem(
                        field=name, message="is not a query parameter it takes (check its spelling)"
                    )
                    for name in unknown
                ],
            )
        return view(request, *args, **kwargs)

    return checked


def _refuse_other_methods(router: Router) -> None:
    """A method a path doesn't take is 405 in JSON, in words, with Allow (the framework's
    own answer is plain text). A path that takes GET takes HEAD too (`_headless`); neither
    is listed in the document."""
    for path, view in list(router.path_operations.items()):
        taken = sorted({method for operation in view.operations for method in operation.methods})
        extra = {"HEAD": _headless} if "GET" in taken else {}
        taken = sorted([*taken, *extra])
        others = [method for method in METHODS if method not in taken]
        with warnings.catch_warnings():  # the path's ids are not read here
            warnings.simplefilter("ignore", UserWarning)
            for method, answer in extra.items():
                router.add_api_operation(path, [method], answer, include_in_schema=False)
            if others:
                router.add_api_operation(path, others, _not_allowed(taken), include_in_schema=False)


def _headless(request: HttpRequest) -> HttpResponse:
    """HEAD: the path's GET answer, run as GET (its token, parameters and status), with the
    same headers and no body (RFC 9110 9.3.2)."""
    match = request.resolver_match
    assert match is not None  # the URL resolver matched this view
    request.method = "GET"
    try:
        response = match.func(request, *match.args, **match.kwargs)
    finally:
        request.method = "HEAD"
    if isinstance(response, HttpResponse):
        response["Content-Length"] = str(len(response.content))
        response.content = b""
    return response


def _not_allowed(taken: list[str]) -> Callable[..., HttpResponse]:
    def refuse(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        response = JsonResponse(
            {"message": f"{request.path} takes {', '.join(taken)}, not {request.method}."},
            status=405,
        )
        response["Allow"] = ", ".join(taken)
        return response

    return refuse


class OnceEach(Parser):
    """A query parameter given twice (`?per_page=5&per_page=50`) is 400, naming it: taking
    the last, as the framework does, answers a question the caller may not have asked.
    Only the parameters the routes document as one value are refused: one documented as a
    list repeats, and one no route takes is left to `_knowing` to name as unknown. (The
    framework parses each Query model alone, with its own `list_fields`; the routes' whole
    lists keep a list in one model from being refused while parsing another.)"""

    def __init__(self, routers: Iterable[Router]) -> None:
        models = [
            model
            for router in routers
            for view in router.path_operations.values()
            for operation in view.operations
            for model in operation.models
            if model.__ninja_param_source__ == "query"
        ]
        lists = {
            name for model in models for name in getattr(model, "__ninja_collection_fields__", [])
        }
        names = {name for model in models for name in getattr(model, "__ninja_flatten_map__", {})}
        self.single = names - lists

    def parse_body(self, request: HttpRequest) -> Any:
        errors.check_depth(request.body)
        return super().parse_body(request)

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        if data is request.GET:
            repeated = {
                name: len(values)
                for name, values in data.lists()
                if len(values) > 1 and name in self.single and name not in list_fields
            }
            if repeated:
                raise errors.Problems(
                    "The request was not understood, and nothing was done. Send each query "
                    "parameter once, with the one value you mean.",
                    [
                        FieldProblem(field=name, message=f"is given {times} times; send it once")
                        for name, times in repeated.items()
                    ],
                )
        return super().parse_querydict(data, list_fields, request)
