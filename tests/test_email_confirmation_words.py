"""Confirming the address one signed up with says only what happens (r20): the email said
"To confirm your email address and sign in, open this link", yet the link opened on another
device (a phone's mail app, a laptop's browser) confirms and does not sign in: allauth signs
in on confirmation only in the browser holding the sign-up, for its 15 minutes
(ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION, LOGIN_TIMEOUT). "Check your email" sends the link
again; a link opened again once its address is confirmed says so, with a way to sign in."""

from __future__ import annotations

import re

import pytest
from allauth.account import app_settings
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW = "sam@example.com"
LINK = re.compile(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)")


def _sign_up(client: Client) -> str:
    """Sign up as NEW; the path of the link in the email."""
    response = client.post(
        "/accounts/signup/", {"email": NEW, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    (sent,) = mail.outbox
    match = LINK.search(sent.body)
    assert match, sent.body
    return match.group(1)


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_email_says_the_link_confirms_and_when_it_signs_in_too() -> None:
    _sign_up(Client())
    body = mail.outbox[0].body
    assert "To confirm your email address, open this link:" in body
    assert "and sign in" not in body.split("\n\n")[1]
    assert (
        "Opened within 15 minutes in the browser you signed up in, it signs you in too. On "
        "another device, or later, it confirms your address, and you then sign in with your "
        "email address and password."
    ) in body
    assert app_settings.LOGIN_TIMEOUT == 15 * 60  # what "15 minutes" says


def test_on_another_device_the_link_confirms_and_does_not_sign_in() -> None:
    link = _sign_up(Client())
    phone = Client()
    assert "Confirm that <strong>sam@example.com</strong>" in phone.get(link).content.decode()
    phone.post(link)
    assert EmailAddress.objects.get(email=NEW).verified
    assert not _signed_in(phone)


def test_in_the_browser_that_signed_up_the_link_signs_in_too() -> None:
    browser = Client()
    link = _sign_up(browser)
    browser.post(link)
    assert EmailAddress.objects.get(email=NEW).verified
    assert _signed_in(browser)


def test_check_your_email_sends_the_link_again() -> None:
    browser = Client()
    _sign_up(browser)
    page = browser.get("/accounts/confirm-email/").content.decode()
    assert "Check your email" in page
    assert ">Send the link again</button>" in page
    # allauth sends one link per few minutes per address: asked at once, it says so.
    asked = browser.post("/accounts/confirm-email-again/", follow=True)
    said = " ".join(str(m) for m in asked.context["messages"])
    assert f"A link went to {NEW} in the last few minutes" in said
    assert len(mail.outbox) == 1
    cache.clear()  # the few minutes have passed
    asked = browser.post("/accounts/confirm-email-again/", follow=True)
    said = " ".join(str(m) for m in asked.context["messages"])
    assert f"We sent a new link to {NEW}." in said
    assert asked.redirect_chain[-1][0] == "/accounts/confirm-email/"
    assert len(mail.outbox) == 2 and mail.outbox[1].to == [NEW]
    assert LINK.search(mail.outbox[1].body)


def test_without_a_sign_up_in_this_browser_it_says_how_to_get_one() -> None:
    asked = Client().post("/accounts/confirm-email-again/", follow=True)
    said = " ".join(str(m) for m in asked.context["messages"])
    assert asked.redirect_chain[-1][0] == "/accounts/login/"
    assert "if the address is not confirmed yet, we send a new link then." in said
    assert mail.outbox == []


def test_a_link_opened_again_after_confirming_says_the_address_is_confirmed() -> None:
    link = _sign_up(Client())
    Client().post(link)
    again = Client().get(link).content.decode()
    assert "<strong>sam@example.com</strong> is already confirmed" in again
    assert 'href="/accounts/login/" role="button">Sign in</a>' in again
    assert "too old or was already used" not in again
    # A link that is not one of ours is still refused as before.
    bad = Client().get("/accounts/confirm-email/not-a-key/").content.decode()
    assert "too old or was already used" in bad and "already confirmed" not in bad
