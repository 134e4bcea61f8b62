"""A tab bar's underline runs the width of the page (r15 nit 17): on the laptop the Settings
tab bar's line stopped at about 880 px, where its last tab ended, as the alerts list's
state filters did at about 500 px. At 1280 and 390 px both run to the content's edge."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from tests.browser import LAPTOP, PHONE, overflow, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _gap(page: Page, nav: str) -> float:
    """How far short of the content's right edge the tab bar's line stops."""
    return float(
        page.evaluate(
            """(nav) => {
              const line = document.querySelector(nav + ' ul').getBoundingClientRect();
              const main = document.querySelector('main').getBoundingClientRect();
              const style = getComputedStyle(document.querySelector('main'));
              return main.right - parseFloat(style.paddingRight) - line.right;
            }""",
            nav,
        )
    )


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_tab_bars_line_runs_the_width_of_the_page(
    browser: Browser, live_server, org: Organization, screenshot, size: dict[str, int]
) -> None:
    Alert.objects.create(organization=org, name="Checkout errors")  # the list has its filters
    context = browser.new_context(viewport=size)  # type: ignore[arg-type]
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    for path, nav in (("settings/", "nav.subnav"), ("alerts/", "nav.alert-filters")):
        page.goto(f"{live_server.url}/o/{org.slug}/{path}")
        screenshot(page, f"{path.strip('/')}-{size['width']}")
        assert abs(_gap(page, nav)) <= 1, path
        assert overflow(page) <= 0
    context.close()
