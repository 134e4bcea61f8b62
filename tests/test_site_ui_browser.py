"""The site's shared layout in headless Chromium: long names never push actions off the
screen, a phone reaches every menu, menus close as people expect, the keyboard can get
everywhere and always shows where it is, and the app's own colours are readable in the
light and the dark theme."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from alerts_saas.accounts.models import Organization, Role
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.models import PagerDutyService
from tests.browser import LAPTOP, PHONE, low_contrast, sign_in
from tests.dashboard.conftest import alert, service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_SERVICE = ("payments_checkout_api_eu_west_1_primary_" * 7)[:255]


def _team(org: Organization, add_member: Callable[..., object]) -> PagerDutyService:
    """A firing alert paging a service with the longest name, a quiet one, two members."""
    long_service = service(org, LONG_SERVICE)
    firing = alert(org, "Checkout errors", long_service, match_app="checkout")
    Firing.objects.create(organization=org, alert=firing, count_at_open=1)
    alert(org, "Search latency", long_service, match_app="search")
    alert(org, "Nightly billing heartbeat", long_service, kind="absence", threshold=1)
    add_member(org, "admin@acme.example", Role.ADMIN)
    return long_service


def _on_screen(page: Page, element: Locator) -> None:
    expect(element).to_be_visible()
    box = element.bounding_box()
    assert box is not None
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (box, width)


@pytest.mark.parametrize("screen", ["laptop", "phone"])
def test_a_255_character_service_name_leaves_every_action_on_screen(
    browser: Browser, live_server, org: Organization, add_member, screenshot, screen: str
) -> None:
    long_service = _team(org, add_member)
    context = browser.new_context(viewport=LAPTOP if screen == "laptop" else PHONE)
    page = context.new_page()
    base = live_server.url
    sign_in(page, base, "owner@acme.example")

    page.goto(f"{base}/o/{org.slug}/settings/integrations/")
    row = page.locator(f"#service-{long_service.pk}")
    for name in ("Send test event", "Use as fallback"):
        _on_screen(page, row.get_by_role("button", name=name))
    _on_screen(page, row.get_by_role("button", name=re.compile("^Delete")))
    screenshot(page, f"integrations-{screen}")

    page.goto(f"{base}/o/{org.slug}/alerts/{Alert.objects.get(name='Checkout errors').pk}/edit/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _on_screen(page, page.get_by_role("button", name="Save alert"))
    label = page.locator("#targets label", has_text=LONG_SERVICE[:40])
    _on_screen(page, label)
    screenshot(page, f"alert-form-{screen}")
    context.close()


def test_on_a_phone_the_header_fits_and_every_menu_opens_on_screen(
    browser: Browser, live_server, org: Organization, add_member, screenshot
) -> None:
    _team(org, add_member)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/settings/members/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    header = page.locator(".site-header")
    _on_screen(page, header.get_by_role("link", name="Alerts"))

    user_menu = header.locator("details.dropdown", has_text="owner@acme.example")
    user_menu.locator("summary").click()
    for link in ("Email addresses", "Notifications", "Change password"):
        _on_screen(page, user_menu.get_by_role("link", name=link))
    _on_screen(page, user_menu.get_by_role("button", name="Sign out"))
    screenshot(page, "user-menu-open")

    settings_menu = header.locator(
        "details.dropdown", has=page.locator("summary", has_text="Settings")
    )
    settings_menu.locator("summary").click()
    expect(user_menu).not_to_have_attribute("open", "")
    for link in ("General", "Members", "Integrations", "Ingest keys"):
        _on_screen(page, settings_menu.get_by_role("link", name=link))

    org_menu = header.locator("details.org-switcher")
    org_menu.locator("summary").click()
    _on_screen(page, org_menu.get_by_role("link", name=re.compile("New organization")))

    # Tables are cards: each member's role and actions are on the screen, named.
    page.keyboard.press("Escape")
    row = page.locator("tr", has_text="admin@acme.example")
    _on_screen(page, row.get_by_role("button", name="Change role"))
    expect(row.locator("td[data-label]").first).to_be_visible()
    screenshot(page, "members-as-cards")
    context.close()


def _focus_ring(page: Page) -> dict[str, object]:
    return page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
        return {style: s.outlineStyle, width: parseFloat(s.outlineWidth),
                text: (document.activeElement.innerText || document.activeElement.value
                       || document.activeElement.getAttribute('aria-label') || '').trim(),
                tag: document.activeElement.tagName}; }"""
    )


def test_the_keyboard_skips_to_the_content_closes_menus_and_walks_the_alert_list(
    browser: Browser, live_server, org: Organization, add_member, screenshot
) -> None:
    _team(org, add_member)
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/alerts/")

    # The first Tab shows the skip link; it takes the keyboard past the header.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    _on_screen(page, skip)
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # Menus: Esc closes and gives the keyboard back to the menu; so does a click outside.
    menu = page.locator(".site-header details.dropdown", has_text="owner@acme.example")
    menu.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(menu.locator("summary")).to_be_focused()
    menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")
    page.locator("main h1").click()
    expect(menu).not_to_have_attribute("open", "")

    # From the search box, Tab reaches each row's link then its actions, rows in order,
    # every stop with a ring around it.
    page.get_by_label("Search alerts by name").focus()
    stops = []
    for _ in range(30):
        page.keyboard.press("Tab")
        ring = _focus_ring(page)
        if ring["tag"] == "BODY":
            break
        assert ring["style"] != "none" and float(str(ring["width"])) >= 2, ring
        stops.append(str(ring["text"]))
    rows = ["Checkout errors", "Nightly billing heartbeat", "Search latency"]
    for name in rows:
        at = stops.index(name)
        assert stops[at + 1 : at + 4] == ["Edit", "Disable", "Delete…"], stops
    assert [stops.index(n) for n in rows] == sorted(stops.index(n) for n in rows)
    screenshot(page, "alert-list-keyboard")
    context.close()


PALETTE = """() => {
  const flashes = ['success', 'info', 'warning', 'error'];
  const badges = ['ok', 'bad', 'warn', 'owner', 'admin', 'member'];
  const states = ['firing', 'ok', 'waiting', 'disabled'];
  document.querySelector('main').insertAdjacentHTML('afterbegin',
    flashes.map((k) => `<div class="flash flash-${k}">A ${k}</div>`).join('')
    + badges.map((k) => `<span class="badge badge-${k}">${k}</span>`).join(' ')
    + states.map((k) => `<article class="state-banner state-${k}"><h2>${k}</h2></article>`)
      .join(''));
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_apps_colours_are_readable_in_both_themes(
    browser: Browser, live_server, org: Organization, add_member, screenshot, scheme: str
) -> None:
    _team(org, add_member)
    context = browser.new_context(viewport=LAPTOP, color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    base = live_server.url
    sign_in(page, base, "owner@acme.example")
    dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    assert dark == (scheme == "dark")
    body = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    lightness = sum(int(v) for v in re.findall(r"\d+", body)[:3])
    assert (lightness < 200) == (scheme == "dark"), body

    problems: list[str] = []
    firing = Alert.objects.get(name="Checkout errors")
    for path in ("", "alerts/", f"alerts/{firing.pk}/", "settings/members/", "settings/"):
        page.goto(f"{base}/o/{org.slug}/{path}")
        problems += [f"/{path}: {p}" for p in low_contrast(page)]
    page.evaluate(PALETTE)
    problems += [f"palette: {p}" for p in low_contrast(page)]
    screenshot(page, f"palette-{scheme}")
    assert not problems, "\n".join(problems)
    context.close()
