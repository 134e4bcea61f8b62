"""Ingest keys in headless Chromium: create a key, copy it with the Copy button,
reload (the secret is not shown again, nor the form posted again), revoke it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from alerts_saas.ingest.models import IngestKey, hash_key
from tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_copy_and_revoke_a_key(browser: Browser, live_server, org, screenshot) -> None:
    owner = org.memberships.get().user
    base = live_server.url
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    sign_in(page, base, owner.email)

    # From the Settings menu to the empty page.
    page.goto(f"{base}/o/{org.slug}/settings/members/")
    page.locator("summary", has_text="Settings").click()
    page.get_by_role("link", name="Ingest keys").first.click()
    expect(page.get_by_text("No ingest keys yet.")).to_be_visible()
    screenshot(page, "empty")

    # An empty name is explained; then a key is made and shown once.
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("Give the key a name")).to_be_visible()
    page.get_by_label("Key name").fill("web servers")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("Copy this key now — it won't be shown again")).to_be_visible()
    secret = page.locator("#new-key-secret").input_value()
    assert IngestKey.objects.get().key_hash == hash_key(secret)
    expect(page.locator("#new-key-curl")).to_contain_text(f"Bearer {secret}")
    screenshot(page, "created")

    page.locator("[data-copy=new-key-secret]").click()
    expect(page.locator("[data-copy=new-key-secret]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret

    # A reload asks nothing again and shows the secret no more: a calm note instead.
    page.reload()
    expect(page.locator("#key-shown-once")).to_contain_text("its secret was shown once")
    assert secret not in page.content() and IngestKey.objects.count() == 1

    # The list no longer has it, only its first characters.
    page.goto(f"{base}/o/{org.slug}/settings/ingest-keys/")
    assert secret not in page.content()
    row = page.locator("tbody tr", has_text="web servers")
    expect(row).to_contain_text("Never used")
    expect(row).to_contain_text("Active")

    row.get_by_role("button", name="Revoke…").click()
    expect(page.get_by_text("will get 403 Forbidden at once")).to_be_visible()
    page.get_by_role("button", name="Yes, revoke").click()
    expect(page.get_by_text("The key “web servers” was revoked.")).to_be_visible()
    expect(page.locator("tbody tr", has_text="web servers")).to_contain_text("Revoked on")
    screenshot(page, "revoked")
    assert IngestKey.objects.get().revoked_by == owner
    context.close()
