"""The first journey in headless Chromium: sign up, verify, create an organization, invite,
accept, and a plain member cannot invite or remove anyone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from alerts_saas.accounts.models import Membership, Organization, Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-unusual-passphrase-42"


def _link_in(message: str, pattern: str) -> str:
    match = re.search(pattern, message)
    assert match, f"no link matching {pattern} in:\n{message}"
    return match.group(0)


def _sign_up(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/signup/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.locator("main").get_by_role("button", name="Create account").click()


def test_signup_verify_create_invite_accept_and_member_limits(
    browser: Browser, live_server, mailoutbox, screenshot, settings
) -> None:
    base = settings.SITE_URL = live_server.url  # the emails' links are on the site's address

    # Ana signs up and must verify her email before anything else.
    ana = browser.new_context().new_page()
    _sign_up(ana, base, "ana@acme.example")
    expect(ana.get_by_role("heading", name="Check your email")).to_be_visible()
    screenshot(ana, "verification-sent")
    assert len(mailoutbox) == 1
    confirm = _link_in(mailoutbox[0].body, r"http://[^\s]+/accounts/confirm-email/[^\s]+/")
    ana.goto(confirm)
    ana.get_by_role("button", name="Confirm").click()

    # Verified and signed in, she has no organization yet, so she creates one.
    expect(ana.get_by_role("heading", name="Create your organization")).to_be_visible()
    ana.fill("input[name=name]", "Acme Ops")
    ana.get_by_role("button", name="Create organization").click()
    expect(ana.get_by_text("Acme Ops is ready. You are its owner.")).to_be_visible()
    screenshot(ana, "organization-created")
    org = Organization.objects.get(name="Acme Ops")
    assert org.slug == "acme-ops"
    assert ana.url == f"{base}/o/acme-ops/"

    # She invites Ben as a member.
    ana.goto(f"{base}/o/acme-ops/settings/members/")
    ana.fill("input[name=email]", "ben@acme.example")
    ana.select_option("select[name=role]", "member")
    ana.get_by_role("button", name="Send invitation").click()
    expect(ana.get_by_text("Invitation sent to ben@acme.example.")).to_be_visible()
    expect(ana.locator("#invitation-" + str(org.invitations.get().pk))).to_contain_text(
        "ben@acme.example"
    )
    screenshot(ana, "invitation-sent")
    invitation_mail = mailoutbox[-1]
    assert invitation_mail.to == ["ben@acme.example"]
    invite_link = _link_in(invitation_mail.body, r"http://[^\s]+/invitations/[^\s]+/")

    # Ben opens the link in his own browser, creates his account, and accepts.
    ben = browser.new_context().new_page()
    ben.goto(invite_link)
    expect(ben.get_by_role("heading", name="Join Acme Ops")).to_be_visible()
    screenshot(ben, "invitation-opened")
    ben.get_by_role("button", name="Create account").click()
    # The account is for the invited address: shown, not to be typed.
    expect(ben.locator("input[name=email]")).to_have_value("ben@acme.example")
    expect(ben.locator("input[name=email]")).not_to_be_editable()
    ben.fill("input[name=password1]", PASSWORD)
    ben.fill("input[name=password2]", PASSWORD)
    ben.locator("main").get_by_role("button", name="Create account").click()
    # The invited address counts as verified: no second email round-trip.
    ben.get_by_role("button", name="Accept invitation").click()
    expect(ben.get_by_text("Welcome to Acme Ops.")).to_be_visible()
    assert Membership.objects.get(organization=org, user__email="ben@acme.example").role == (
        Role.MEMBER
    )

    # The same link does not work a second time: opened again, it says when Ben joined.
    ben.goto(invite_link)
    expect(ben.locator("#invitation-joined")).to_have_text(
        re.compile(r"^You joined Acme Ops on \d{1,2} \w+ \d{4} with this invitation\.$")
    )

    # As a member, Ben sees the team but cannot invite or remove anyone.
    ben.goto(f"{base}/o/acme-ops/settings/members/")
    expect(ben.get_by_text("Only owners and admins can invite people")).to_be_visible()
    expect(ben.get_by_role("button", name="Send invitation")).to_have_count(0)
    expect(ben.get_by_role("link", name="Remove…")).to_have_count(0)
    screenshot(ben, "member-view")
    csrf = next(c["value"] for c in ben.context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": csrf, "Referer": f"{base}/o/acme-ops/settings/members/"}
    invite = ben.request.post(
        f"{base}/o/acme-ops/settings/members/invite/",
        form={"email": "eve@evil.example", "role": "admin"},
        headers=headers,
    )
    assert invite.status == 403
    ana_membership = Membership.objects.get(organization=org, user__email="ana@acme.example")
    remove = ben.request.post(
        f"{base}/o/acme-ops/settings/members/{ana_membership.pk}/remove/", headers=headers
    )
    assert remove.status == 403
    assert not org.invitations.filter(email="eve@evil.example").exists()
    assert Membership.objects.filter(pk=ana_membership.pk).exists()

    # Ana sees Ben in the team.
    ana.goto(f"{base}/o/acme-ops/settings/members/")
    expect(ana.locator("table").first).to_contain_text("ben@acme.example")
    screenshot(ana, "members-after-accept")
