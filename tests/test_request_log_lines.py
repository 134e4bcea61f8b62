"""A refused page (403) is one WARNING line in the log, without traceback; a failure (500)
keeps django.request's traceback. The 403's record from django.request is dropped by the
logging configuration (log_config.RefusalsInOneLine), not by marking the response."""

from __future__ import annotations

import logging
import sys

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from alerts_saas.accounts.models import Membership, Organization
from alerts_saas.urls import handler403, handler500
from alerts_saas.urls import urlpatterns as site_urls

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def _refused(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("Not for you.")


def _broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the disk is on fire")


urlpatterns = [path("test-refused/", _refused), path("test-broken/", _broken), *site_urls]
__all__ = ["handler403", "handler500", "urlpatterns"]


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_role_too_low_is_one_line_without_traceback(
    acme_member_signed_in: tuple[Organization, Membership],
    client: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    org, member = acme_member_signed_in
    with caplog.at_level(logging.INFO):
        assert client.get(f"/o/{org.slug}/settings/api-tokens/").status_code == 403
        assert client.get("/test-refused/").status_code == 403
    lines = _warnings(caplog)
    assert [(r.name, r.exc_info) for r in lines] == [("alerts_saas.errors", None)] * 2
    assert lines[1].getMessage() == f"403 GET /test-refused/ (user {member.user_id}): Not for you."


def test_django_requests_record_of_a_refusal_is_dropped_by_the_logging_config(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Whatever logs it (a response not marked as logged), the configured django.request
    logger lets no PermissionDenied traceback through; other 4xx records still pass."""
    request_logger = logging.getLogger("django.request")
    try:
        raise PermissionDenied("Not for you.")
    except PermissionDenied:
        refused = sys.exc_info()
    with caplog.at_level(logging.INFO):
        request_logger.warning("Forbidden: %s", "/x/", extra={"status_code": 403}, exc_info=refused)
        request_logger.warning("Not Found: %s", "/y/", extra={"status_code": 404})
    assert [r.getMessage() for r in _warnings(caplog)] == ["Not Found: /y/"]


def test_a_failure_still_logs_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.INFO):
        assert client.get("/test-broken/").status_code == 500
    [line] = [r for r in _warnings(caplog) if r.name == "django.request"]
    assert line.levelno == logging.ERROR
    assert line.exc_info is not None and isinstance(line.exc_info[1], RuntimeError)
