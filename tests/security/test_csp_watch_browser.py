"""The browser watch (tests/csp_watch.py), which fails any journey whose pages break the
Content-Security-Policy, does catch a violation. No database: the page is made up here."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser


@pytest.mark.browser
def test_the_watch_reports_an_inline_script_the_policy_refused(
    browser: Browser, no_csp_violations: list[str]
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.route(
        "http://tripwire.test/",
        lambda route: route.fulfill(
            body="<p>hi</p><script>document.title = 'ran'</script><p style='color:red'>x</p>",
            content_type="text/html",
            headers={"Content-Security-Policy": "script-src 'self'; style-src 'self'"},
        ),
    )
    page.goto("http://tripwire.test/")
    page.wait_for_timeout(300)
    assert page.title() != "ran"
    context.close()
    found = list(no_csp_violations)
    no_csp_violations.clear()  # seen here on purpose: the fixture must not fail this test
    assert any("script-src" in v for v in found), found
    assert any("style-src" in v for v in found), found
