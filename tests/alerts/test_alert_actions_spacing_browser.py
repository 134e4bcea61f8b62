"""On a 390 px phone the alert page's buttons (Edit, Disable, Mute…, Delete…) wrap under its
name; they keep the same room below them as the name has, instead of sitting flush against
the "Mutes" heading. On a laptop they still sit beside the name. (The rule is scoped to the
head holding "Mute…": no other page's head has these buttons.)"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from tests.browser import LAPTOP, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GAPS = """() => {
  const box = (s) => document.querySelector(s).getBoundingClientRect();
  const h1 = document.querySelector('.page-head h1');
  return {
    belowButtons: box('#alert-mutes h2').top - box('.page-head .actions').bottom,
    belowName: parseFloat(getComputedStyle(h1).marginBottom),
  };
}"""


def test_the_buttons_have_room_below_them_on_a_phone(
    browser: Browser, live_server, org: Organization, screenshot
) -> None:
    alert = Alert.objects.create(organization=org, name="UI per region", threshold=5)
    url = f"{live_server.url}/o/{org.slug}/alerts/{alert.pk}/"
    context = phone(browser, "dark")
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(url)
    gaps = page.evaluate(GAPS)
    screenshot(page, "alert-actions-phone-dark")
    assert gaps["belowButtons"] >= gaps["belowName"] > 0, gaps
    context.close()

    laptop = browser.new_context(viewport=LAPTOP)
    page = laptop.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(url)
    # Beside the name on a laptop, still on its row.
    h1 = page.locator(".page-head h1").bounding_box()
    buttons = page.locator(".page-head .actions").bounding_box()
    assert h1 is not None and buttons is not None
    assert buttons["y"] < h1["y"] + h1["height"]
    screenshot(page, "alert-actions-laptop")
    laptop.close()
