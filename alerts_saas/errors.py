"""Error pages in words, in the site's layout; under /api/, the same words in JSON."""

from __future__ import annotations

import logging
from typing import cast

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

from alerts_saas.accounts.access import RoleRequired, TenantRequest
from alerts_saas.accounts.models import Role

API_PREFIX = "/api/"
logger = logging.getLogger(__name__)


def _error(
    request: HttpRequest,
    status: int,
    title: str,
    detail: str,
    *,
    ask: bool = False,
    owners_only: bool = False,
) -> HttpResponse:
    """`ask`: name the organization's owners and admins to a member (a role too low);
    `owners_only`: its owners alone, to admins and members (a page for owners)."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"message": f"{title}: {detail}"}, status=status)
    context = {"title": title, "detail": detail, "ask": ask, "owners_only": owners_only}
    return render(request, "error.html", context, status=status)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """In an organization, the page keeps its navigation, names whom to ask (the owners for
    an owner's page, else the owners and admins) and leads back to its home (error.html
    reads `request.tenant`, as its pages do)."""
    owners_only = isinstance(exception, RoleRequired) and exception.role == Role.OWNER
    if isinstance(exception, RoleRequired) and getattr(request, "tenant", None) is None:
        cast(TenantRequest, request).tenant = exception.tenant
    detail = str(exception or "") or "Your role in this organization does not allow this."
    response = _error(
        request,
        403,
        "You don't have permission to do this",
        detail,
        ask=True,
        owners_only=owners_only,
    )
    # An expected refusal (a role too low): this one line; django.request's record of it,
    # with its traceback, is dropped by log_config.RefusalsInOneLine.
    user_id = getattr(getattr(request, "user", None), "pk", None)
    logger.warning("403 %s %s (user %s): %s", request.method, request.path, user_id, detail)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request,
        400,
        "Bad request",
        str(exception or "") or "The request could not be understood. Go back and try again.",
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request, 404, "Page not found", "There is nothing here, or you don't have access to it."
    )


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {"message": "Something went wrong on our side; it was logged. Try again later."},
            status=500,
        )
    # No context processors: the failure may be in one of them.
    html = loader.get_template("500.html").render()
    return HttpResponse(html, status=500)
