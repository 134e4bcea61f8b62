"""Making an admin a member in headless Chromium, on a 390 px phone in the light and the dark
(r20): Change role asks first, naming the API token that stops; Cancel goes back with
nothing changed; Confirm changes the role and the message says the token was revoked."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from alerts_saas.accounts.models import Membership, Organization, Role
from alerts_saas.ingest.models import ApiToken, Scope
from tests.api_client import Api
from tests.browser import low_contrast, overflow, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_demoting_an_admin_asks_first_on_a_phone(
    browser: Browser,
    live_server: LiveServer,
    org: Organization,
    add_member: Callable[..., Membership],
    screenshot: Callable[..., Path],
    scheme: str,
) -> None:
    owner = org.memberships.get().user
    alice = add_member(org, "alice@acme.example", Role.ADMIN)
    alice.user.first_name = "Alice"
    alice.user.save(update_fields=["first_name"])
    _token, secret = ApiToken.issue(org, "alice-ci", alice.user, scope=Scope.WRITE)
    base = live_server.url
    members = f"{base}/o/{org.slug}/settings/members/"
    context = phone(browser, scheme)
    page = context.new_page()
    sign_in(page, base, owner.email)

    def pick_member() -> None:
        page.goto(members)
        row = page.locator(f"#member-{alice.pk}")
        row.get_by_label("Role of alice@acme.example").select_option("member")
        row.get_by_role("button", name="Change role").click()

    pick_member()
    expect(page.get_by_role("heading", name="Make Alice a member?")).to_be_visible()
    expect(page.locator("#role-tokens")).to_contain_text("Their API token “alice-ci” stops working")
    assert overflow(page) == 0 and low_contrast(page) == []
    screenshot(page, f"confirm-{scheme}")

    page.locator("main").get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(members)}$"))
    expect(page.locator(f"#member-{alice.pk} .badge")).to_have_text("Admin")
    Api(secret).get("/alerts", status=200)

    pick_member()
    page.get_by_role("button", name="Make them a member").click()
    expect(
        page.get_by_text("Alice is now a member. Their API token “alice-ci” was revoked.")
    ).to_be_visible()
    expect(page.locator(f"#member-{alice.pk} .badge")).to_have_text("Member")
    assert overflow(page) == 0 and low_contrast(page) == []
    screenshot(page, f"done-{scheme}")
    Api(secret).get("/alerts", status=401)
    context.close()
