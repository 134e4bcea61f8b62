"""Settings → Activity in headless Chromium, on a 390 px phone, light and dark: a change
made on one page reads in words on the Activity page, which filters and fits the screen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from alerts_saas.audit.models import Action, ActorKind, Entry
from tests.browser import low_contrast, overflow, phone, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_change_reads_in_words_on_a_phone(
    browser: Browser, live_server, org, scheme: str, screenshot
) -> None:
    owner = org.memberships.get().user
    long_name = "Checkout errors on the payment gateway in eu-west-1 " * 3
    for n in range(55):  # a second page, and long words that must wrap
        Entry.objects.create(
            organization=org,
            created_at=timezone.now() - timedelta(days=1, minutes=n),
            actor_kind=ActorKind.USER,
            actor_label="someone.with.a.very.long.address@operations.acme.example",
            object_type="alert",
            object_id=str(n),
            object_name=long_name.strip(),
            action=Action.CHANGED,
            changes=[
                {"field": "message", "before": "x" * 150, "after": "y" * 150, "text": True},
                {"field": "threshold", "before": "5", "after": "10"},
            ],
            user_agent="Mozilla/5.0 " + "(KHTML, like Gecko) " * 8,
            ip="2001:db8:85a3::8a2e:370:7334",
        )
    base = live_server.url
    context = phone(browser, scheme)
    page = context.new_page()
    sign_in(page, base, owner.email)

    page.goto(f"{base}/o/{org.slug}/settings/")
    page.locator("input[name=name]").fill("Acme SRE")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Organization settings saved.")).to_be_visible()

    page.locator("summary", has_text="Settings").click()
    page.get_by_role("link", name="Activity").first.click()
    expect(page.get_by_role("heading", name="Activity")).to_be_visible()
    first = page.locator("#activity > li").first
    expect(first).to_contain_text(f"{owner.email} changed organization “Acme SRE”:")
    expect(first).to_contain_text("name “Acme Ops” → “Acme SRE”")
    expect(first.locator("time")).to_be_visible()
    assert overflow(page) == 0, f"{overflow(page)} px wider than the phone"
    assert low_contrast(page) == []
    screenshot(page, f"activity-{scheme}")

    page.get_by_role("link", name="Older →").click()
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    assert overflow(page) == 0

    page.locator("summary", has_text="Filter").click()
    page.get_by_label("Action").select_option(label="Changed")
    page.get_by_label("What").select_option(label="Organization")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#activity > li")).to_have_count(1)
    expect(page.locator("#activity > li")).to_contain_text("changed organization “Acme SRE”")
    assert overflow(page) == 0
    screenshot(page, f"filtered-{scheme}")

    page.get_by_label("Action").select_option(label="Revoked or withdrawn")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("Nothing matches these filters.")).to_be_visible()
    page.get_by_role("button", name="Clear filters").last.click()
    expect(page.locator("#activity > li")).to_have_count(50)
    context.close()
