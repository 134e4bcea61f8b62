"""Every main page, walked in headless Chromium at 1280 and 390 px, light and dark (the
system's colour scheme), with the longest names people can give: nothing sticks out
sideways, the browser logs no error, the app's colours are readable, and each page is saved
to test-artifacts/ to look at.

One browser and one context per screen and scheme; the whole walk stays under a minute."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page

from alerts_saas.accounts.models import Invitation, Organization, Role, User
from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Level
from alerts_saas.ingest.models import IngestKey
from integrations.pagerduty.models import PagerDutyAccount
from tests.browser import LAPTOP, PHONE, low_contrast, sign_in
from tests.dashboard.conftest import alert, delivery, service

# slow: one of the heaviest browser tests (every main page in four screens): `make test` runs it in
# the lane beside the rest, so that both lanes take about as long (scripts/test-suite.sh).
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The longest names the models take, without a space to break at.
LONG_SERVICE = ("payments_checkout_api_eu_west_1_primary_" * 7)[:255]
LONG_ALERT = ("Checkout_payment_provider_card_declined_errors_" * 5)[:200]
LONG_ORG = ("Acme_Payments_Platform_Reliability_Engineering_" * 3)[:100]
LONG_EMAIL = "firstname.middlename.lastname.primary-oncall@payments-platform.acme-corp.example"


def _realistic(org: Organization, add_member: Callable[..., object]) -> dict[str, str]:
    """An organization as a busy team has it; returns the paths of its pages."""
    owner = org.memberships.get().user
    User.objects.filter(pk=owner.pk).update(email=LONG_EMAIL)
    EmailAddress.objects.filter(user=owner).update(email=LONG_EMAIL)
    Organization.objects.filter(pk=org.pk).update(name=LONG_ORG)
    long_service = service(org, LONG_SERVICE)
    checkout = service(org, "Checkout API")
    firing = alert(
        org, LONG_ALERT, long_service, checkout, match_app="checkout", threshold=3, window_minutes=5
    )
    quiet = alert(org, "Nightly billing job heartbeat", checkout, kind="absence", threshold=1)
    for n in range(8):
        alert(org, f"Search latency above 2 s in region {n}", checkout, match_app=f"search-{n}")
    now = time.time()
    events = [
        Event(
            timestamp=now - 240 + 20 * i,
            message=f"card declined by the payment provider #{i}",
            app="checkout",
            level=Level.ERROR,
            source="web-1",
            attributes={"order": 4400 + i},
        )
        for i in range(12)
    ]
    evaluation.record(org.pk, events)
    assert firing.firings.exists()
    delivery(org, long_service, made=firing, firing=firing.firings.get())
    IngestKey.issue(org, "web servers in every region of the payments platform")
    add_member(org, "a.very.long.member.address.for.the.on-call@payments.acme-corporation.example")
    add_member(org, "admin@acme.example", Role.ADMIN)
    Invitation.issue(org, "new.person.joining.next.week@acme-corp.example", Role.MEMBER, owner)
    slug = org.slug
    return {
        "dashboard": f"/o/{slug}/",
        "alerts": f"/o/{slug}/alerts/",
        "alert": f"/o/{slug}/alerts/{firing.pk}/",
        "quiet-alert": f"/o/{slug}/alerts/{quiet.pk}/",
        "alert-form": f"/o/{slug}/alerts/{firing.pk}/edit/",
        "integrations": f"/o/{slug}/settings/integrations/",
        "ingest-keys": f"/o/{slug}/settings/ingest-keys/",
        "members": f"/o/{slug}/settings/members/",
        "org-settings": f"/o/{slug}/settings/",
        "activity": f"/o/{slug}/settings/activity/",
        "problems": f"/o/{slug}/problems/",
        "profile": "/profile/",
        "emails": "/accounts/email/",
        "two-factor": "/accounts/2fa/",
        "notifications": "/notifications/",
    }


ANONYMOUS = (("landing", "/"), ("sign-in", "/accounts/login/"), ("sign-up", "/accounts/signup/"))


def _visit(page: Page, url: str, errors: list[str]) -> None:
    errors.clear()
    page.goto(url)


def _check(page: Page, name: str, errors: list[str], shoot: Callable[..., Path]) -> list[str]:
    """What is wrong with the page as shown; its screenshot saved either way."""
    problems = []
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if scroll > inner:
        problems.append(f"{name}: {scroll} px wide on a {inner} px screen")
    problems.extend(f"{name}: {e}" for e in errors)
    problems.extend(f"{name}: hard to read: {c}" for c in low_contrast(page))
    shoot(page, name)
    return problems


def _watch(context: BrowserContext) -> tuple[Page, list[str]]:
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(f"{m.text} {m.location.get('url', '')}") if m.type == "error" else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def test_every_main_page_fits_every_screen_in_both_themes(
    browser: Browser,
    live_server,
    org: Organization,
    add_member,
    connect,
    client: Client,
    screenshot,
) -> None:
    paths = _realistic(org, add_member)
    client.force_login(org.memberships.get(role=Role.OWNER).user)
    account = connect(client)
    paths["service-picker"] = (
        f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"
    )
    assert PagerDutyAccount.objects.filter(organization=org).count() == 1
    base = live_server.url

    first = browser.new_context(viewport=LAPTOP)
    page, _ = _watch(first)
    sign_in(page, base, LONG_EMAIL)
    signed_in = first.storage_state()
    first.close()

    problems: list[str] = []
    for width, viewport in (("1280", LAPTOP), ("390", PHONE)):
        for scheme in ("light", "dark"):
            shown = f"{width}-{scheme}"
            context = browser.new_context(
                viewport=viewport,
                color_scheme=scheme,  # type: ignore[arg-type]
                storage_state=signed_in,
            )
            page, errors = _watch(context)
            for name, path in paths.items():
                _visit(page, f"{base}{path}", errors)
                problems += _check(page, f"{shown}-{name}", errors, screenshot)
            context.close()

            anonymous = browser.new_context(viewport=viewport, color_scheme=scheme)  # type: ignore[arg-type]
            page, errors = _watch(anonymous)
            for name, path in ANONYMOUS:
                _visit(page, f"{base}{path}", errors)
                problems += _check(page, f"{shown}-{name}", errors, screenshot)
            anonymous.close()
    assert not problems, "\n".join(problems)
