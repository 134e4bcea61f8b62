"""The API docs page (/api/v1/docs) follows the system's theme like the rest of the site,
leads back to it, and groups the sending of events and changes under "Ingest" (they sat
under "default"). Served from our own files: the CSP watch fails any refusal."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import Browser, expect

from tests.browser import LAPTOP

pytestmark = pytest.mark.django_db


def test_events_and_changes_are_grouped_under_ingest_and_the_page_leads_back() -> None:
    client = Client()
    schema = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/events", "/api/v1/changes"):
        assert schema["paths"][path]["post"]["tags"] == ["Ingest"]
    tags = {t for item in schema["paths"].values() for op in item.values() for t in op["tags"]}
    assert "default" not in tags
    page = client.get("/api/v1/docs").content.decode()
    assert '<a href="/" id="back-to-site">← Back to Tripwire</a>' in page


def _lightness(css_colour: str) -> int:
    return sum(int(v) for v in re.findall(r"\d+", css_colour)[:3])


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_docs_page_follows_the_theme(
    browser: Browser, live_server, screenshot, scheme: str
) -> None:
    context = browser.new_context(viewport=LAPTOP, color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator("#operations-tag-Ingest")).to_be_visible()
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (_lightness(background) < 200) == (scheme == "dark"), background
    # What people see of Swagger UI: dark in dark mode (its light colours inverted).
    shown = page.evaluate("getComputedStyle(document.querySelector('.swagger-ui')).filter")
    assert (shown != "none") == (scheme == "dark"), shown
    back = page.get_by_role("link", name="← Back to Tripwire")
    expect(back).to_be_visible()
    screenshot(page, f"api-docs-{scheme}")
    back.click()
    page.wait_for_url(f"{live_server.url}/**")
    assert "/api/" not in page.url
    context.close()
