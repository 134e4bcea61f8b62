"""Controls that were too cramped to read, measured in headless Chromium: the role menu
beside "Change role" on a phone clipped "Owner", the alert search's placeholder was cut
("Search alerts by nar"), and "Mute for every alert…" wrapped in the Integrations Service
column with its chevron at the column's far edge."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from alerts_saas.accounts.models import Organization, Role
from tests.browser import LAPTOP, PHONE, sign_in
from tests.dashboard.conftest import alert, service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The room a control gives its text, and the width that text needs in its font. A select's
# arrow is drawn over its right end (Pico: 1rem wide, 0.75rem from the edge): not room.
ROOM_AND_NEED = """(el, text) => {
  const s = getComputedStyle(el);
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
  const end = Math.max(parseFloat(s.paddingRight), el.tagName === "SELECT" ? 1.75 * rem : 0);
  const room = el.clientWidth - parseFloat(s.paddingLeft) - end;
  return [room, ctx.measureText(text).width];
}"""


def _fits(element: Locator, text: str) -> None:
    room, need = element.evaluate(ROOM_AND_NEED, text)
    assert room >= need, f"{text!r} needs {need:.0f} px, has {room:.0f}"


def _lines(element: Locator) -> int:
    """How many lines the element's text takes."""
    return int(
        element.evaluate(
            "el => { const r = document.createRange(); r.selectNodeContents(el);"
            " return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; }"
        )
    )


def _signed_in(browser: Browser, base: str, viewport: dict) -> Page:
    page = browser.new_context(viewport=viewport).new_page()  # type: ignore[arg-type]
    sign_in(page, base, "owner@acme.example")
    return page


def test_the_role_menu_shows_owner_whole_on_a_phone(
    browser: Browser, live_server, org: Organization, add_member, screenshot
) -> None:
    add_member(org, "co-owner@acme.example", Role.OWNER)  # the sole owner's row has no menu
    page = _signed_in(browser, live_server.url, PHONE)
    page.goto(f"{live_server.url}/o/{org.slug}/settings/members/")
    menu = page.get_by_label("Role of co-owner@acme.example")
    expect(menu).to_have_value("owner")
    _fits(menu, "Owner")
    screenshot(page, "members-phone")


def test_the_alert_search_has_a_label_and_a_placeholder_that_fits_on_a_phone(
    browser: Browser, live_server, org: Organization, screenshot
) -> None:
    alert(org, "Checkout errors", service(org, "Checkout"), match_app="checkout")
    page = _signed_in(browser, live_server.url, PHONE)
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/")
    field = page.get_by_label("Search alerts by name")
    expect(page.locator("label", has_text="Search alerts by name")).to_be_visible()
    _fits(field, str(field.get_attribute("placeholder")))
    screenshot(page, "alerts-phone")


def test_mute_for_every_alert_is_one_line_beside_its_chevron(
    browser: Browser, live_server, org: Organization, screenshot
) -> None:
    checkout = service(org, "Checkout API 001")
    page = _signed_in(browser, live_server.url, LAPTOP)
    page.goto(f"{live_server.url}/o/{org.slug}/settings/integrations/")
    summary = page.locator(f"#service-mute-{checkout.pk} summary")
    assert _lines(summary.locator("small")) == 1
    text = summary.locator("small").bounding_box()
    box = summary.bounding_box()
    assert text and box
    # The chevron follows the words, not the column's far edge.
    assert box["x"] + box["width"] - (text["x"] + text["width"]) < 40, (text, box)
    screenshot(page, "integrations-laptop")
