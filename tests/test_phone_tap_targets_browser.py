"""On a 390 px phone, at 3 a.m., every control is tapped with a thumb: the buttons, the links
of a menu or a tab bar, the summaries that open a part of the page, and the label of each
radio and checkbox (the box itself is 20 px) are at least 44 px tall. Walked as someone
arriving, signing in with a two-factor code, then through the pages the r20 review measured
(landing's "Create your team" was 36 px, the header's Sign in / Sign up 40 / 38, the code
page's Sign in / Cancel 36 / 34, the user menu's Sign out 24, Activity's Filter 16, the
alert page's Mute now… / Mute every week… 16, Members' Change role / Remove… 36)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import Browser, Page, expect

from alerts_saas.accounts.models import Organization
from tests.browser import LAPTOP, phone
from tests.conftest import PASSWORD
from tests.dashboard.conftest import account, alert, service
from tests.two_factor import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THUMB = 44
OWNER = "owner@acme.example"

# Each visible target of the page (not in a closed part): buttons, links of a nav, summaries
# and the labels of radios and checkboxes (a box without a label is a target of its own).
_TARGETS = """() => {
  const found = [];
  const seen = new Set();
  const add = (el, kind, what) => {
    if (seen.has(el) || el.closest('details:not([open]) > :not(summary)')) return;
    seen.add(el);
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === 'hidden') return;
    found.push({kind, what: (what || el.textContent).trim().replace(/\\s+/g, ' ').slice(0, 40),
                height: Math.round(box.height * 10) / 10});
  };
  document.querySelectorAll('button, [role="button"], input[type="submit"]').forEach(
    (el) => add(el, 'button'));
  document.querySelectorAll('nav a').forEach((el) => add(el, 'nav link'));
  document.querySelectorAll('summary').forEach((el) => add(el, 'summary'));
  document.querySelectorAll('input[type="checkbox"], input[type="radio"]').forEach((box) => {
    const label = box.closest('label') || document.querySelector(`label[for="${box.id}"]`);
    add(label || box, label ? 'label' : box.type, label ? null : box.name);
  });
  return found;
}"""

_OPEN_ALL = "() => document.querySelectorAll('main details').forEach((d) => { d.open = true; })"


def _small(page: Page, where: str) -> list[str]:
    """The targets of the page under a thumb's height, each named."""
    return [
        f"{where}: {t['kind']} {t['what']!r} {t['height']} px"
        for t in page.evaluate(_TARGETS)
        if t["height"] < THUMB
    ]


def _heights(page: Page) -> dict[str, float]:
    return {f"{t['kind']} {t['what']}": t["height"] for t in page.evaluate(_TARGETS)}


def _menus(page: Page, where: str) -> list[str]:
    """The header's menus, each opened alone, and what they hold."""
    small: list[str] = []
    menus = page.locator(".site-header details.dropdown")
    for n in range(menus.count()):
        menus.evaluate_all("(all, n) => all.forEach((d, i) => { d.open = i === n; })", n)
        small += _small(page, f"{where}, menu {n + 1}")
    menus.evaluate_all("(all) => all.forEach((d) => { d.open = false; })")
    return small


def test_every_target_on_the_way_in_and_on_the_night_pages_is_thumb_sized(
    browser: Browser,
    live_server,
    org: Organization,
    add_member: Callable[..., object],
    screenshot,
) -> None:
    owner = org.memberships.get().user
    secret = generate_totp_secret()
    TOTP.activate(owner, secret)
    add_member(org, "member@acme.example")
    checkout = service(org, "Checkout API", account=account(org))
    firing = alert(org, "Checkout errors", checkout, threshold=3)
    s, base = org.slug, live_server.url

    context = phone(browser, "dark")
    page = context.new_page()
    page.set_default_timeout(10_000)
    small: list[str] = []

    page.goto(f"{base}/")
    small += _small(page, "landing")
    page.goto(f"{base}/accounts/login/")
    small += _small(page, "sign-in")
    page.fill("input[name=login]", OWNER)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()

    # The 3 a.m. screen: the code field has the keyboard at once, its buttons a thumb's size.
    expect(page.get_by_role("heading", name="Enter your sign-in code")).to_be_visible()
    code = page.locator("input[name=code]")
    expect(code).to_be_focused()
    small += _small(page, "sign-in code")
    screenshot(page, "sign-in-code")
    page.keyboard.type(totp_code(secret))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Enter your sign-in code")).to_have_count(0)

    for where, path in (
        ("dashboard", f"/o/{s}/"),
        ("alert list", f"/o/{s}/alerts/"),
        ("alert", f"/o/{s}/alerts/{firing.pk}/"),
        ("new alert", f"/o/{s}/alerts/new/"),
        ("members", f"/o/{s}/settings/members/"),
        ("activity", f"/o/{s}/settings/activity/"),
        ("settings", f"/o/{s}/settings/"),
        ("api tokens", f"/o/{s}/settings/api-tokens/"),
        ("notifications", "/notifications/"),
        ("email addresses", "/accounts/email/"),
    ):
        page.goto(f"{base}{path}")
        small += _small(page, where)
        page.evaluate(_OPEN_ALL)
        small += _small(page, f"{where}, opened")
        if where in ("alert", "members", "activity"):
            screenshot(page, where.replace(" ", "-"))
    small += _menus(page, "email addresses")

    # A laptop keeps its layout, the summaries a line of text: the rule is the phone's (a guard).
    page.set_viewport_size(LAPTOP)
    page.goto(f"{base}/o/{s}/alerts/{firing.pk}/")
    laptop = _heights(page)
    context.close()

    assert small == [], "Under 44 px on a phone:\n" + "\n".join(small)
    assert laptop["summary Mute now…"] < 30 and laptop["summary Mute every week…"] < 30, laptop
