"""API tokens in headless Chromium, on a 390 px phone in the light and the dark: from the
Settings menu, a token made, shown once, used, and revoked."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from alerts_saas.ingest.models import ApiToken, Scope, hash_key
from tests.api_client import Api
from tests.browser import overflow, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_make_use_and_revoke_a_token_on_a_phone(
    browser: Browser, live_server, org, screenshot, scheme: str
) -> None:
    owner = org.memberships.get().user
    base = live_server.url
    context = phone(browser, scheme)
    page = context.new_page()
    sign_in(page, base, owner.email)

    page.goto(f"{base}/o/{org.slug}/settings/members/")
    page.get_by_role("link", name="API tokens").first.click()
    expect(page.get_by_text("No API tokens yet.")).to_be_visible()
    assert overflow(page) == 0

    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Give the token a name")).to_be_visible()
    page.get_by_label("Token name").fill("terraform")
    page.get_by_label("Read and write: also create, change and delete them").check()
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Copy this token now — it won't be shown again")).to_be_visible()
    secret = page.locator("#new-token-secret").input_value()
    token = ApiToken.objects.get()
    assert token.key_hash == hash_key(secret) and token.scope == Scope.WRITE
    expect(page.locator("#new-token-curl")).to_contain_text(f"Bearer {secret}")
    assert overflow(page) == 0
    screenshot(page, f"created-{scheme}")

    Api(secret).get("/alerts", status=200)
    page.goto(f"{base}/o/{org.slug}/settings/api-tokens/")
    row = page.locator("tbody tr", has_text="terraform")
    expect(row).to_contain_text("Read and write")
    expect(row).not_to_contain_text("Never used")
    assert secret not in page.content()

    row.get_by_role("button", name="Revoke…").click()
    expect(page.get_by_text("will get 401 Unauthorized at once")).to_be_visible()
    page.get_by_role("button", name="Yes, revoke").click()
    expect(page.get_by_text("The token “terraform” was revoked.")).to_be_visible()
    assert overflow(page) == 0
    screenshot(page, f"revoked-{scheme}")
    Api(secret).get("/alerts", status=401)
    context.close()
