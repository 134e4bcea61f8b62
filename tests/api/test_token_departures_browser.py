"""Removing an admin in headless Chromium, on a 390 px phone in the light and the dark: the
members page and the removal's confirmation say their API tokens stop; afterwards
Settings → API tokens lists them as revoked, with why."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Role
from alerts_saas.ingest.models import ApiToken, Scope
from tests.api_client import Api
from tests.browser import low_contrast, overflow, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_removing_an_admin_says_and_stops_their_tokens_on_a_phone(
    browser: Browser, live_server, org, add_member, screenshot, scheme: str
) -> None:
    owner = org.memberships.get().user
    admin = add_member(org, "admin@acme.example", Role.ADMIN)
    _ci, secret = ApiToken.issue(org, "ci", admin.user, scope=Scope.WRITE)
    ApiToken.issue(org, "terraform", admin.user, scope=Scope.READ)
    base = live_server.url
    context = phone(browser, scheme)
    page = context.new_page()
    sign_in(page, base, owner.email)

    page.goto(f"{base}/o/{org.slug}/settings/members/")
    row = page.locator(f"#member-{admin.pk}")
    expect(row.locator(f"#member-{admin.pk}-tokens")).to_have_text(
        "If they are removed or made a member: their 2 API tokens stop working."
    )
    assert overflow(page) == 0 and low_contrast(page) == []
    screenshot(page, f"members-{scheme}")

    row.get_by_role("button", name="Remove…").click()
    expect(page.locator("#remove-tokens")).to_contain_text("Their 2 API tokens stop working")
    assert overflow(page) == 0 and low_contrast(page) == []
    screenshot(page, f"confirm-{scheme}")
    page.get_by_role("button", name="Remove from Acme Ops").click()
    expect(page.get_by_text("admin@acme.example was removed from Acme Ops.")).to_be_visible()

    page.goto(f"{base}/o/{org.slug}/settings/api-tokens/")
    for name in ("ci", "terraform"):
        token_row = page.locator("tbody tr", has_text=name)
        expect(token_row).to_contain_text("Revoked")
        expect(token_row).to_contain_text("its creator was removed from the organization")
        expect(token_row.get_by_role("button", name="Revoke…")).to_have_count(0)
    assert overflow(page) == 0 and low_contrast(page) == []
    screenshot(page, f"tokens-{scheme}")
    Api(secret).get("/alerts", status=401)
    context.close()
