"""The Content-Security-Policy: on every response (pages, the API, errors), in both modes,
with no inline script or style allowed; the API's docs page and, in development, the display
of a failed htmx request work under it."""

from __future__ import annotations

import importlib

import pytest
from django.http import HttpRequest, HttpResponse
from django.template import RequestContext, Template
from django.test import Client
from django.urls import include, path
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.django_db


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def htmx_page(request: HttpRequest) -> HttpResponse:
    """A page of the site with two htmx requests that fail on the server."""
    page = Template(
        '{% extends "base.html" %}{% block content %}'
        '<button hx-get="/boom/">Load</button> <button hx-post="/boom/">Save</button>'
        "{% endblock %}"
    )
    return HttpResponse(page.render(RequestContext(request)))


urlpatterns = [
    path("boom/", boom),
    path("api/v1/boom/", boom),
    path("htmx-page/", htmx_page),
    path("", include("alerts_saas.urls")),
]
handler500 = "alerts_saas.errors.server_error"
handler404 = "alerts_saas.errors.page_not_found"


def _policy(response: HttpResponse) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.status_code}"
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


def _strict(response: HttpResponse) -> None:
    policy = _policy(response)
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in str(policy)


@pytest.mark.urls(__name__)
def test_every_kind_of_response_carries_the_policy(client: Client, make_user) -> None:
    quiet = Client(raise_request_exception=False)
    responses = {
        "landing": client.get("/"),
        "sign-in": client.get("/accounts/login/"),
        "API schema": client.get("/api/v1/openapi.json"),
        "API refusal": client.post("/api/v1/events", "[]", content_type="application/json"),
        "page not found": client.get("/no-such-page/"),
        "API not found": client.get("/api/v1/no-such-thing"),
        "server error": quiet.get("/boom/"),
        "API server error": quiet.get("/api/v1/boom/"),
    }
    assert responses["API refusal"].status_code == 401
    assert responses["page not found"].status_code == 404
    assert responses["server error"].status_code == 500
    assert responses["API server error"].status_code == 500
    client.force_login(make_user("csp@example.com"))
    responses["profile"] = client.get("/accounts/profile/")
    for name, response in responses.items():
        assert response.status_code < 600, name
        _strict(response)


def test_production_mode_has_the_same_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_DEBUG", "false")
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", "Y29sbGVjdHN0YXRpYy1vbmx5LWR1bW15LWtleS0wMDA=")
    monkeypatch.setenv("ALLOWED_HOSTS", "example.com")
    import alerts_saas.settings as settings_module

    try:
        production = importlib.reload(settings_module)
        assert production.DEBUG is False
        assert "alerts_saas.security.ContentSecurityPolicy" in production.MIDDLEWARE
        directives = production.CONTENT_SECURITY_POLICY["DIRECTIVES"]
        assert directives["script-src"] == ["'self'"]
        assert directives["style-src"] == ["'self'"]
    finally:
        monkeypatch.undo()
        importlib.reload(settings_module)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_api_docs_page_works_under_the_policy(browser: Browser, live_server) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .title")).to_contain_text("API")
    expect(page.locator(".opblock").first).to_be_visible()
    context.close()


@pytest.mark.urls(__name__)
def test_in_development_only_djangos_error_pages_may_run_inline_code(
    client: Client, settings
) -> None:
    settings.DEBUG = True
    quiet = Client(raise_request_exception=False)
    page = client.get("/accounts/login/")
    _strict(page)
    assert "js/htmx-debug.js" in page.content.decode()
    assert "django-htmx.js" not in page.content.decode()  # its eval is refused
    for response in (client.get("/no-such-page/"), quiet.get("/boom/")):
        assert response.status_code in (404, 500)
        policy = _policy(response)
        assert policy["script-src"] == "'self' 'unsafe-inline'"
        assert policy["style-src"] == "'self' 'unsafe-inline'"
    settings.DEBUG = False
    assert "htmx-debug.js" not in client.get("/accounts/login/").content.decode()
    _strict(quiet.get("/boom/"))


@pytest.mark.browser
@pytest.mark.urls(__name__)
@pytest.mark.django_db(transaction=True)
def test_in_development_a_failed_htmx_request_shows_djangos_error(
    browser: Browser, live_server, settings
) -> None:
    settings.DEBUG = True
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/htmx-page/")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("pre.htmx-debug-error")).to_contain_text("Exception Value: a bug")
    expect(page.locator("h1")).to_contain_text("RuntimeError")
    page.goto(f"{live_server.url}/htmx-page/")
    page.get_by_role("button", name="Load").click()
    expect(page).to_have_url(f"{live_server.url}/boom/")
    expect(page.locator("#summary h1")).to_contain_text("RuntimeError")
    context.close()
