"""An alert that counts separately for each source, in headless Chromium: made from the
form (what to count separately for, severity following the events), fed events for three
hosts through the ingest API over HTTP, then read on its page (each host with its state, the
firing ones first, the severity each paged with) and in the list ("Firing: 2 sources"), on
a laptop and a phone, light and dark, with no Content-Security-Policy violation."""

from __future__ import annotations

import re
import urllib.request

import orjson
import pytest
from playwright.sync_api import Browser, Page, expect

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing, GroupBy
from alerts_saas.ingest.models import IngestKey
from integrations.pagerduty.models import PagerDutyService
from tests.browser import LAPTOP, PHONE, low_contrast, overflow, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OWNER = "owner@acme.example"
# web-2 and web-3 cross the threshold (3 errors); web-1, first by name, stays under it.
EVENTS = [
    *({"app": "checkout", "level": "critical", "source": "web-2", "message": "disk full"},) * 3,
    *({"app": "checkout", "level": "warning", "source": "web-3", "message": "slow"},) * 3,
    {"app": "checkout", "level": "error", "source": "web-1", "message": "one timeout"},
]


def post_events(base: str, secret: str, events: list[dict[str, str]]) -> dict[str, object]:
    """POST a batch to the ingest API over HTTP, as a team's servers do."""
    request = urllib.request.Request(
        f"{base}/api/v1/events",
        data=orjson.dumps(events),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 202
        return dict(orjson.loads(answer.read()))


def create_from_the_form(page: Page, base: str, org: Organization, screenshot) -> Alert:
    page.goto(f"{base}/o/{org.slug}/alerts/new/")
    page.fill("input[name=name]", "Checkout errors per host")
    page.get_by_label("Severity follows the events").check()
    page.fill("input[name=threshold]", "3")
    page.fill("input[name=window_minutes]", "5")
    page.fill("input[name=match_app]", "checkout")
    grouping = page.get_by_label("Count separately for each")
    attribute = page.get_by_label("Attribute name")
    expect(attribute).to_be_hidden()  # its name matters only with "An attribute"
    grouping.select_option(GroupBy.ATTRIBUTE)
    expect(attribute).to_be_visible()
    grouping.select_option(GroupBy.SOURCE)
    expect(attribute).to_be_hidden()
    page.fill("textarea[name=summary_template], input[name=summary_template]", "{alert}: {group}")
    page.locator("#targets").get_by_role("checkbox", name=re.compile("^Checkout API")).check()
    page.locator("fieldset.grouping").scroll_into_view_if_needed()
    screenshot(page, "form")
    page.get_by_role("button", name=re.compile("^(Save|Create)")).first.click()
    alert = Alert.objects.get(organization=org)
    row = page.locator(f"#alert-{alert.pk}")
    expect(row).to_contain_text("3 or more matching events in 5 minutes, for each source")
    expect(row).to_contain_text("Severity from the events")
    page.goto(f"{base}/o/{org.slug}/alerts/{alert.pk}/")
    expect(page.locator("#alert-grouping")).to_have_text("source")
    expect(page.locator("#no-groups")).to_contain_text("No source seen yet")
    return alert


def check_the_page(page: Page, alert: Alert) -> None:
    """Each host with its state, the firing ones first; severity follows the events."""
    rows = page.locator("#group-rows tbody tr")
    expect(rows).to_have_count(3)
    assert [rows.nth(i).get_attribute("data-group") for i in range(3)] == [
        "web-2",
        "web-3",
        "web-1",
    ]
    assert [rows.nth(i).get_attribute("data-state") for i in range(3)] == [
        "firing",
        "firing",
        "ok",
    ]
    expect(rows.nth(0)).to_contain_text("Critical")
    expect(rows.nth(1)).to_contain_text("Warning")
    expect(rows.nth(2).locator("td").nth(2)).to_have_text("1")
    expect(page.locator("#alert-state h2")).to_contain_text("FIRING")
    expect(page.locator("#firing-groups")).to_contain_text("2 sources firing")
    expect(page.locator("#alert-severity")).to_contain_text("Follows the events")
    expect(page.locator("#alert-live")).to_contain_text("each source fires on its own at 3")
    # The banner's firing (the first still firing) is the one its button resolves, by name.
    latest = page.locator(".firing-group-now code").inner_text()
    assert latest in ("web-2", "web-3")
    item = page.locator(f'#firing-values li[data-group="{latest}"]')
    expect(item.locator(".resolve-firing button")).to_have_text(f"Resolve {latest} and page again")


def test_an_alert_per_source_made_on_the_form_lists_each_host_with_its_state(
    browser: Browser, page: Page, live_server, org: Organization, screenshot
) -> None:
    PagerDutyService.objects.create(
        organization=org, name="Checkout API", region="us", integration_key="a" * 32
    )
    _key, secret = IngestKey.issue(org, "web servers")
    base = live_server.url
    sign_in(page, base, OWNER)
    alert = create_from_the_form(page, base, org, screenshot)
    assert (alert.group_by, alert.severity_from_events) == (GroupBy.SOURCE, True)
    screenshot(page, "made")

    assert post_events(base, secret, EVENTS)["accepted"] == len(EVENTS)
    firings = {f.group: f for f in Firing.objects.filter(alert=alert, cleared_at__isnull=True)}
    assert {g: f.severity for g, f in firings.items()} == {"web-2": "critical", "web-3": "warning"}
    page.reload()
    check_the_page(page, alert)

    page.goto(f"{base}/o/{org.slug}/alerts/")
    expect(page.locator(f"#alert-{alert.pk}")).to_contain_text("Firing: 2 sources")

    for size, name in ((LAPTOP, "laptop"), (PHONE, "phone")):
        for scheme in ("light", "dark"):
            context = browser.new_context(viewport=size, color_scheme=scheme)  # type: ignore[arg-type]
            seen = context.new_page()
            sign_in(seen, base, OWNER)
            seen.goto(f"{base}/o/{org.slug}/alerts/{alert.pk}/")
            check_the_page(seen, alert)
            assert overflow(seen) <= 1, f"{name} {scheme}: the page sticks out sideways"
            assert low_contrast(seen) == [], f"{name} {scheme}"
            screenshot(seen, f"alert-{name}-{scheme}")
            seen.goto(f"{base}/o/{org.slug}/alerts/")
            expect(seen.locator(f"#alert-{alert.pk}")).to_contain_text("Firing: 2 sources")
            assert low_contrast(seen) == [], f"list {name} {scheme}"
            screenshot(seen, f"list-{name}-{scheme}")
            context.close()
