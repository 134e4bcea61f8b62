"""The dashboard says how it refreshes as it does: every 15 s while its tab is in view (the
poll pauses in a hidden tab, static/js/ui.js `pollPaused`), and at once when the person
comes back to it (`pagevisible`); not "while this tab is open", which a tab in the
background also is. The browser behaviour itself is tested in
tests/security/test_markup_behaviours_browser.py."""

from __future__ import annotations

import re

import pytest

from tests.dashboard.test_dashboard import text

pytestmark = pytest.mark.django_db


def test_the_refresh_line_says_the_pace_and_the_pause_the_page_runs(dashboard):
    page = dashboard()
    trigger = re.search(r'id="dashboard-live"[^>]*hx-trigger="every (\d+)s, ([^"]+)"', page, re.S)
    assert trigger is not None
    seconds, also = trigger.groups()
    assert also == "pagevisible from:document"
    assert re.search(r'id="dashboard-live"[^>]*\bdata-poll\b', page, re.S)

    line = re.search(r'<p class="muted dash-updated".*?</p>', page, re.S)
    assert line is not None
    words = text(line.group(0)).removeprefix("As of ")
    assert re.fullmatch(
        rf"\d\d:\d\d:\d\d; it updates itself every {seconds} s while this tab is in view, and"
        r" as soon as you come back to it\.",
        words,
    ), words
    assert "while this tab is open" not in page
