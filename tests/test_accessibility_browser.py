"""Every page a person uses, checked by axe-core (axe-playwright-python) against WCAG 2.1
A and AA, in light and dark, on a phone (390x844) and a laptop (1280x900): any violation of
impact "serious" or "critical" fails the test, named by rule, element and page.

Someone paged at 3 a.m. may be on a phone in the dark, with a keyboard or a screen reader:
every field has a name, every icon-only button says what it does, text is readable in both
schemes, and the landmarks and headings say where things are. Collapsed parts of the page
(`<details>`: the mute forms, the pasted key) are opened before each check, and the
header's menus one at a time, so what they hold is checked too. Beyond axe: form errors and
help are tied to their fields with aria-describedby (a screen reader reads them with the
field), and the keyboard's focus is visible.

One browser; one context per person (signed out, owner, member), each page loaded once and
checked in the four screens by changing the viewport and the emulated colour scheme."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from alerts_saas.accounts.models import Organization, Role, User
from alerts_saas.alerts.models import MuteWindow
from alerts_saas.ingest.models import IngestKey
from tests.browser import LAPTOP, PHONE, sign_in
from tests.conftest import PASSWORD
from tests.dashboard.conftest import account, alert, delivery, fire, service

# slow: one of the heaviest browser tests (axe on every page, four screens): `make test` runs it in
# the lane beside the rest, so that both lanes take about as long (scripts/test-suite.sh).
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EVERY_RULE = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
CONTRAST = {
    "runOnly": {"type": "rule", "values": ["color-contrast"]},
    "resultTypes": ["violations"],
}
# Every rule at each width (what shows differs), in one scheme each; the colours in all four.
SCREENS = (
    ("laptop-light", LAPTOP, "light", EVERY_RULE),
    ("phone-dark", PHONE, "dark", EVERY_RULE),
    ("laptop-dark", LAPTOP, "dark", CONTRAST),
    ("phone-light", PHONE, "light", CONTRAST),
)
SEVERE = {"serious", "critical"}
MEMBER = "member@acme.example"

# Beyond axe: every id an aria-describedby names is on the page (Django names {id}_error and
# {id}_helptext on a field that has them), and every field's list of errors is named by one.
_UNTIED = """() => {
  const found = [];
  for (const el of document.querySelectorAll('[aria-describedby]')) {
    for (const id of el.getAttribute('aria-describedby').split(/\\s+/).filter(Boolean)) {
      if (!document.getElementById(id)) {
        found.push(`${el.name || el.id || el.tagName} is described by #${id}, which is missing`);
      }
    }
  }
  for (const list of document.querySelectorAll('ul.errorlist')) {
    if (!list.offsetParent) continue;
    if (!list.id || !document.querySelector(`[aria-describedby~="${list.id}"]`)) {
      found.push(`error "${list.textContent.trim().slice(0, 60)}" is not tied to its field`);
    }
  }
  return found;
}"""


def _world(org: Organization, add_member: Callable[..., object], make_org: Any) -> dict[str, str]:
    """An organization with firing and quiet alerts, mutes, a connected account and
    service, keys, members; and a second, empty one. Returns the owner's pages."""
    owner = org.memberships.get().user
    add_member(org, MEMBER)
    empty = make_org("Empty team", owner=owner)
    pd = account(org)
    checkout = service(org, "Checkout API", account=pd)
    firing = alert(org, "Checkout errors", checkout, match_app="checkout", threshold=3)
    quiet = alert(org, "Nightly billing heartbeat", checkout, kind="absence", threshold=1)
    opened = fire(firing)
    sent = delivery(org, checkout, made=firing, firing=opened, attempts=1, response_status=202)
    now = timezone.now()
    MuteWindow.objects.create(
        organization=org,
        alert=quiet,
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        reason="deploy",
        created_by=owner,
    )
    IngestKey.issue(org, "web servers")
    s = org.slug
    return {
        "dashboard": f"/o/{s}/",
        "alert-list": f"/o/{s}/alerts/",
        "alert-list-empty": f"/o/{empty.slug}/alerts/",
        "new-alert": f"/o/{s}/alerts/new/",
        "alert-firing": f"/o/{s}/alerts/{firing.pk}/",
        "alert-quiet-muted": f"/o/{s}/alerts/{quiet.pk}/",
        "alert-edit": f"/o/{s}/alerts/{firing.pk}/edit/",
        "delivery": f"/o/{s}/pagerduty/deliveries/{sent.pk}/",
        "settings": f"/o/{s}/settings/",
        "members": f"/o/{s}/settings/members/",
        "ingest-keys": f"/o/{s}/settings/ingest-keys/",
        "api-tokens": f"/o/{s}/settings/api-tokens/",
        "integrations": f"/o/{s}/settings/integrations/",
        "activity": f"/o/{s}/settings/activity/",
        "problems": f"/o/{s}/problems/",
        "profile": "/profile/",
        "two-factor": "/accounts/2fa/",
        "not-found": f"/o/{s}/alerts/999999/",
    }


# The page's collapsed parts opened, one menu at a time (open menus would overlap).
_OPEN = "(s) => document.querySelectorAll(s).forEach((d) => { d.open = true; })"


class Checker:
    """Runs axe on the page as shown in each screen and gathers what it finds."""

    def __init__(self) -> None:
        self.axe = Axe()
        self.found: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.other: list[str] = []

    def check(
        self, page: Page, name: str, opened: str = "main details", within: str = "html"
    ) -> None:
        page.evaluate(_OPEN, opened)
        page.evaluate(self.axe.axe_script)
        for screen, viewport, scheme, options in SCREENS:
            page.set_viewport_size(viewport)
            page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
            results = page.evaluate(
                "([within, options]) => axe.run(within, options)", [within, options]
            )
            for violation in results["violations"]:
                if violation["impact"] not in SEVERE:
                    continue
                for node in violation["nodes"]:
                    target = " ".join(str(t) for t in node["target"])
                    key = (name, violation["id"], target)
                    seen = self.found.setdefault(
                        key,
                        {
                            "help": violation["help"],
                            "html": node["html"][:160],
                            "why": node.get("failureSummary", "").replace("\n", " ")[:240],
                            "screens": [],
                        },
                    )
                    seen["screens"].append(screen)
        untied = [f"{name}: {e}" for e in page.evaluate(_UNTIED)]
        self.other += untied

    def report(self) -> str:
        lines = [
            f"{page}: [{rule}] {seen['help']}\n    element {target}: {seen['html']}\n"
            f"    {seen['why']}\n    in {', '.join(seen['screens'])}"
            for (page, rule, target), seen in sorted(self.found.items())
        ]
        return "\n".join(lines + self.other)


# The element the keyboard is on shows it: an outline or a ring (box-shadow) of its own.
_FOCUS_SHOWN = """() => {
  const e = document.activeElement;
  if (e === document.body) return '';  // past the last control
  const style = getComputedStyle(e);
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
    || style.boxShadow !== 'none';
  const words = (e.textContent || e.name || '').trim().slice(0, 40);
  return ring ? '' : `${e.tagName.toLowerCase()} "${words}"`;
}"""


def unfocused(page: Page, name: str, presses: int = 25) -> list[str]:
    """Tab through the page's first controls: each must show that it has the focus."""
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    found = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        if hidden := page.evaluate(_FOCUS_SHOWN):
            found.append(f"{name}: no visible focus on {hidden}")
    return found


def _context(browser: Browser, **kwargs: Any) -> tuple[BrowserContext, Page]:
    # Reduced motion: pico's colour transitions take no time when the scheme changes, so
    # axe reads the colours the page settles on.
    context = browser.new_context(viewport=LAPTOP, reduced_motion="reduce", **kwargs)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def test_every_page_passes_axe_in_both_schemes_on_a_phone_and_a_laptop(
    browser: Browser, live_server, org: Organization, add_member, make_org
) -> None:
    paths = _world(org, add_member, make_org)
    base = live_server.url
    owner: User = org.memberships.get(role=Role.OWNER).user
    checker = Checker()

    context, page = _context(browser)
    for name, path in (
        ("sign-in", "/accounts/login/"),
        ("sign-up", "/accounts/signup/"),
        ("password-reset", "/accounts/password/reset/"),
    ):
        page.goto(f"{base}{path}")
        checker.check(page, name)
    # The sign-in form's error, as a mistyped password shows it.
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", owner.email)
    page.fill("input[name=password]", "not-the-password")
    page.locator("main").get_by_role("button", name=re.compile("^sign in$", re.I)).click()
    checker.check(page, "sign-in-refused")
    page.goto(f"{base}/accounts/signup/")
    page.locator("main").get_by_role("button", name="Create account").click()
    checker.check(page, "sign-up-refused")
    context.close()

    context, page = _context(browser)
    sign_in(page, base, owner.email)
    for name, path in paths.items():
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status == (404 if name == "not-found" else 200)
        checker.check(page, name)
    # Keyboard focus is visible, in both schemes (at the width the last check left: a phone).
    for name in ("dashboard", "alert-firing", "new-alert", "integrations"):
        page.goto(f"{base}{paths[name]}")
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
            checker.other += unfocused(page, f"{name}-{scheme}")
    # The header's menus (organizations, the user's), each open alone.
    page.goto(f"{base}{paths['dashboard']}")
    menus = page.locator(".site-header details.dropdown")
    for n in range(menus.count()):
        menus.evaluate_all("(all, n) => all.forEach((d, i) => { d.open = i === n; })", n)
        checker.check(page, f"dashboard-menu-{n + 1}", within=".site-header")
    # The new alert form sent empty shows its errors beside the fields.
    page.goto(f"{base}{paths['new-alert']}")
    page.locator("form [name=name]").fill("")
    page.locator("main form").last.evaluate("(f) => { f.noValidate = true; }")
    page.locator("main form button[type=submit]").last.click()
    checker.check(page, "new-alert-refused")
    page.goto(f"{base}{paths['ingest-keys']}")
    page.get_by_role("button", name="Create key").click()
    checker.check(page, "ingest-key-refused")
    # Setting up two-factor sign-in asks for the password first.
    page.goto(f"{base}/accounts/2fa/totp/activate/")
    checker.check(page, "confirm-it-is-you")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    checker.check(page, "two-factor-setup")
    context.close()

    context, page = _context(browser)
    sign_in(page, base, MEMBER)
    response = page.goto(f"{base}{paths['activity']}")
    assert response is not None and response.status == 403
    checker.check(page, "forbidden-403")
    context.close()

    assert not checker.found and not checker.other, (
        "Accessibility violations (axe, WCAG 2.1 A/AA, serious or critical):\n" + checker.report()
    )
