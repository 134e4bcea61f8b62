"""The alerts list wraps an alert's name between its words (r15 #8): at 1280 px the name
column shrank till "Checkou|t errors", "Billing heartbe|at" and "Payment|s 5xx" broke
mid-word (every cell may break anywhere, so the column's narrowest width was a letter). A
word is cut only when it is longer than the column can be: a single very long word."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.models import PagerDutyService
from tests.browser import LAPTOP, PHONE, overflow, sign_in
from tests.history_rows import delivery
from tests.tenant_objects import _pd_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAMES = ["Billing heartbeat", "Checkout errors", "Payments 5xx", "API made", "to-deleted"]
LONG = "checkout_service_errors_in_the_eu_west_production_cluster_after_deploys"

# Each word of each name, and whether the browser laid it out on more than one line.
_SPLIT_WORDS = """() => [
  ...document.querySelectorAll('table.alert-list tbody td:first-child strong')
].flatMap((el) => {
    const text = el.firstChild;
    const found = [];
    let at = 0;
    for (const word of text.data.split(' ')) {
      const range = document.createRange();
      range.setStart(text, at);
      range.setEnd(text, at + word.length);
      const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      found.push([word, lines.size]);
      at += word.length + 1;
    }
    return found;
  })"""


def _alerts(org: Organization, names: list[str]) -> None:
    owner = org.memberships.get().user
    service = _pd_service(org, owner)
    typo = PagerDutyService.objects.create(
        organization=org,
        account=None,
        name="Typo key",
        integration_key="1" * 32,
        refused_at=timezone.now(),
        refused_detail=(
            "Event object is invalid; Invalid routing key: no integration with this key in "
            "this region"
        ),
    )
    since = timezone.now() - timedelta(minutes=30)
    for name in names:
        alert = Alert.objects.create(
            organization=org,
            name=name,
            match_app="checkout",
            match_message="card declined at the payment provider",
            counting_since=since,
        )
        alert.targets.add(typo if name == "Payments 5xx" else service)
        if name == "Billing heartbeat":
            Firing.objects.create(organization=org, alert=alert, count_at_open=1)
        if name != "API made":  # "Delivered 8 minutes ago" beside most
            delivery(service, alert=alert, dedup_key=f"k-{alert.pk}")


def _split(page: Page) -> list[str]:
    return [word for word, lines in page.evaluate(_SPLIT_WORDS) if lines > 1]


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_names_wrap_between_words(
    browser: Browser, live_server, org: Organization, screenshot, size: dict[str, int]
) -> None:
    _alerts(org, NAMES)
    context = browser.new_context(viewport=size)  # type: ignore[arg-type]
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/")
    screenshot(page, f"alert-names-{size['width']}")

    assert _split(page) == []
    assert overflow(page) <= 0
    context.close()


def test_a_single_word_longer_than_the_column_is_cut_rather_than_widening_the_page(
    browser: Browser, live_server, org: Organization
) -> None:
    _alerts(org, [*NAMES, LONG])
    context = browser.new_context(viewport=LAPTOP)  # type: ignore[arg-type]
    page = context.new_page()
    sign_in(page, live_server.url, "owner@acme.example")
    page.goto(f"{live_server.url}/o/{org.slug}/alerts/")

    assert _split(page) == [LONG]  # the last resort, for it alone
    assert overflow(page) <= 0
    context.close()
