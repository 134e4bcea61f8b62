"""A revoked key still in use, in headless Chromium on a phone: the keys page and the
dashboard say so, readable and within the screen, light and dark."""

from __future__ import annotations

import orjson
import pytest
from django.test import Client
from playwright.sync_api import Browser, expect

from alerts_saas.ingest.models import IngestKey
from tests.browser import overflow, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_revoked_key_still_in_use_on_a_phone(
    browser: Browser, live_server, org, screenshot, scheme: str
) -> None:
    key, secret = IngestKey.issue(org, "old web servers")
    key.revoke(by=None)
    IngestKey.issue(org, "new web servers")
    for _ in range(3):
        answer = Client().post(
            "/api/v1/events",
            data=orjson.dumps([{"app": "checkout", "level": "error", "message": "x"}]),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        assert answer.status_code == 403
    base = live_server.url
    page = phone(browser, scheme).new_page()
    sign_in(page, base, org.memberships.get().user.email)

    page.goto(f"{base}/o/{org.slug}/")
    line = page.locator(f"[data-revoked-key='{key.pk}']")
    expect(line).to_contain_text("a sender still uses the revoked ingest key “old web servers”")
    assert overflow(page) <= 1
    screenshot(page, f"dashboard-{scheme}")

    line.get_by_role("link", name="Find the sender and give it a new key").click()
    said = page.locator(f"#key-refused-{key.pk}")
    expect(said).to_contain_text("Still in use")
    expect(said).to_contain_text("Batches sent with it are refused: 3 since it was revoked")
    said.get_by_role("link", name="create one").click()
    expect(page.get_by_label("Key name")).to_be_visible()
    assert overflow(page) <= 1
    screenshot(page, f"keys-{scheme}")
