"""On a 390 px phone the alert list's rows are tapped with a thumb, often half awake: each
alert's name and its Edit, Disable and Delete… are at least 44 px tall (the name was a
19 px line of text, the buttons 36 px)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from tests.browser import phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEIGHTS = """() => [...document.querySelectorAll('table.alert-list tbody tr')].map((row) => ({
  name: row.querySelector('td:first-child > a').getBoundingClientRect().height,
  buttons: [...row.querySelectorAll('.actions :is([role="button"], button)')].map(
    (b) => [b.textContent.trim(), b.getBoundingClientRect().height]),
}))"""


def test_names_and_buttons_are_thumb_sized_on_a_phone(
    browser: Browser, live_server, org: Organization, screenshot
) -> None:
    for name in ("Checkout errors", "Disk warnings per host"):
        Alert.objects.create(organization=org, name=name, threshold=5)
    context = phone(browser, "dark")
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/")
    rows = page.evaluate(HEIGHTS)
    screenshot(page, "alert-list-tap-targets-phone")
    context.close()
    assert len(rows) == 2
    for row in rows:
        assert row["name"] >= 44, row
        assert [label for label, _ in row["buttons"]] == ["Edit", "Disable", "Delete…"], row
        assert all(height >= 44 for _, height in row["buttons"]), row
