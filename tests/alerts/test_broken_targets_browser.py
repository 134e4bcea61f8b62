"""On a 390 px phone in dark mode, the alert form says beside a broken service what is wrong
with it, readable and inside the screen; saving an alert whose only service PagerDuty
refuses says whom it pages (nobody, until the key is fixed), and the list's state is not a
green OK; on a laptop in light mode too."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from alerts_saas.accounts.models import Organization
from tests.alerts.test_broken_targets_said import _pasted
from tests.browser import LAPTOP, low_contrast, overflow, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_a_refused_service_is_marked_in_the_form_and_saving_it_says_so(
    browser: Browser, live_server, org: Organization, screenshot, scheme: str
) -> None:
    typo = _pasted(org, "Typo key", "1", refused=True)
    _pasted(org, "Edge Gateway", "2")
    context = (
        phone(browser, "dark")
        if scheme == "dark"
        else browser.new_context(viewport=LAPTOP, color_scheme="light")
    )
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/new/")

    trouble = page.locator("#targets .target-trouble")
    expect(trouble).to_have_count(1)
    expect(trouble).to_have_text("PagerDuty refuses its key")
    trouble.scroll_into_view_if_needed()
    expect(trouble).to_be_in_viewport()
    box = page.get_by_label("Typo key (integration key) PagerDuty refuses its key")
    expect(box).to_have_value(str(typo.pk))
    assert overflow(page) <= 0
    assert low_contrast(page) == []
    screenshot(page, f"form-{scheme}")

    page.fill("#id_name", "Payments 5xx")
    box.check()
    page.get_by_role("button", name="Save alert").click()
    expect(page.locator(".messages")).to_contain_text(
        "Alert “Payments 5xx” saved. It pages nobody until Typo key is fixed: PagerDuty "
        "refuses its key."
    )
    state = page.locator(".state-cell .badge").first
    expect(state).to_have_text("Pages nobody")
    expect(state).to_have_class("badge badge-bad")
    assert overflow(page) <= 0
    assert low_contrast(page) == []
    screenshot(page, f"saved-{scheme}")
    context.close()
