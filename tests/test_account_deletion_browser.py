"""Deleting one's account on a phone (390 px, headless Chromium): from Your profile to the
confirmation page, which says what goes and what is left, confirming it is you, ticking the
organization that goes with it, and landing signed out on a page that says it is done."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from alerts_saas.accounts.models import Membership, Organization, Role, User
from tests.browser import overflow, phone, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _serious(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as shown (WCAG 2.1 A and AA)."""
    found = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in {"serious", "critical"}]


def test_deleting_the_account_on_a_phone(
    browser: Browser,
    live_server: object,
    make_user: Callable[..., User],
    make_org: Callable[..., Organization],
    screenshot: Callable[..., Path],
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    pat = make_user("pat@example.com")
    solo = make_org("Solo Night Operations Team", owner=pat)
    acme = make_org("Acme", owner=make_user("olivia@acme.example"))
    Membership.objects.create(organization=acme, user=pat, role=Role.MEMBER)
    page = phone(browser, "light").new_page()
    sign_in(page, base, pat.email)

    page.goto(f"{base}/profile/")
    page.get_by_role("button", name="Delete account…").click()
    expect(page.get_by_role("heading", name="Delete your account?")).to_be_visible()
    expect(page.locator("#left")).to_contain_text("Acme (member)")
    box = page.get_by_role(
        "checkbox", name="Delete Solo Night Operations Team and everything in it"
    )
    expect(box).to_be_visible()
    assert overflow(page) == 0 and _serious(page) == []
    screenshot(page, "account-delete-phone")

    page.get_by_role("button", name="Delete my account").click()  # not ticked
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Before you delete your account")
    assert overflow(page) == 0
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Confirm").click()  # then the POST goes on: refused
    expect(page.get_by_role("alert")).to_contain_text(
        "Nothing was deleted: tick Solo Night Operations Team to confirm"
    )
    assert User.objects.filter(pk=pat.pk).exists() and _serious(page) == []

    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("heading", name="Your account is deleted")).to_be_visible()
    expect(page.locator("#deleted")).to_contain_text("pat@example.com is deleted")
    assert overflow(page) == 0 and _serious(page) == []
    screenshot(page, "account-deleted-phone")
    assert not User.objects.filter(pk=pat.pk).exists()
    assert not Organization.objects.filter(pk=solo.pk).exists()
    assert Organization.objects.filter(pk=acme.pk).exists()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
