"""The dashboard's hour of events says its units: a bar is a minute, the counts below are
each 5 minutes, laid out as whole rows (two of six on a laptop, four of three on a phone),
never ten and then two."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.ingest.models import IngestKey
from tests.browser import LAPTOP, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _rows(page: Page) -> list[int]:
    """How many 5-minute counts stand on each line of the grid."""
    tops = page.locator("#events .stretches > div").evaluate_all(
        "cells => cells.map(c => Math.round(c.getBoundingClientRect().top))"
    )
    return [tops.count(top) for top in sorted(set(tops))]


def _check(page: Page, base: str, org: Organization, rows: list[int]) -> None:
    sign_in(page, base, "owner@acme.example")
    page.goto(f"{base}/o/{org.slug}/")
    expect(page.locator("#events-legend")).to_have_text(
        "Each bar is one minute. Below, the events in each 5 minutes from the time shown:"
    )
    assert _rows(page) == rows


def test_the_hours_counts_say_their_units_in_whole_rows(
    page: Page, browser: Browser, live_server, org: Organization, post_events
) -> None:
    _, secret = IngestKey.issue(org, "web servers")
    assert post_events(secret, [{"app": "checkout", "message": "ok"}] * 17).status_code == 202
    page.set_viewport_size(LAPTOP)
    _check(page, live_server.url, org, [6, 6])
    context = phone(browser, "dark")
    _check(context.new_page(), live_server.url, org, [3, 3, 3, 3])
    context.close()
