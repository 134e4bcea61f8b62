"""Confirming it is you (with an emailed code, or to see recovery codes), the recovery codes
file and the sign-out page, in the product's words: not allauth's stock pages and email
("Confirm Access", "Request Code", a select of one address)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client

from alerts_saas.accounts.models import User

pytestmark = pytest.mark.django_db

REQUEST = "/accounts/reauthenticate/code/"
CONFIRM = "/accounts/reauthenticate/code/confirm/"
CODES = "/accounts/2fa/recovery-codes/"


def test_the_code_pages_and_email_are_the_products(
    client: Client, make_user: Callable[..., User]
) -> None:
    client.force_login(make_user("pat@example.com"))
    asked = client.get(REQUEST, {"next": CODES}).content.decode()
    assert 'class="container-fluid site-header"' in asked  # the product's layout
    assert "Confirm Access" not in asked and "Request Code" not in asked
    assert "<select" not in asked  # one address: said, not offered as a choice
    assert (
        "Before showing your recovery codes, we email you a code to type on the next page: "
        "it goes to <strong>pat@example.com</strong>."
    ) in asked

    sent = client.post(REQUEST, {"recipient": "pat@example.com", "next": CODES})
    assert sent["Location"].startswith(CONFIRM)
    [message] = mail.outbox
    assert message.subject == "[Tripwire] Your code to confirm it is you"
    assert "open browser window" not in message.body and "Tripwire" in message.body
    found = re.search(r"\n\n(\S+)\n\n", str(message.body))
    assert found
    confirm = client.get(sent["Location"]).content.decode()
    assert "Type the code we emailed you" in confirm and "Enter Sign-In Code" not in confirm
    assert "We emailed a code to pat@example.com." in confirm
    done = client.post(sent["Location"], {"code": found.group(1)})
    assert done["Location"] == CODES


def test_viewing_recovery_codes_is_not_called_changing_how_you_sign_in(
    client: Client, make_user: Callable[..., User]
) -> None:
    client.force_login(make_user("pat@example.com"))
    page = client.get("/accounts/reauthenticate/", {"next": CODES}).content.decode()
    assert "Before showing your recovery codes, type your password again." in page
    change = client.get("/accounts/reauthenticate/", {"next": "/accounts/2fa/totp/activate/"})
    assert "Before changing how you sign in, type your password again." in change.content.decode()


def test_the_downloaded_recovery_codes_say_whose_and_where(
    client: Client, make_user: Callable[..., User], settings: object
) -> None:
    from tests.two_factor import set_up_totp, sign_in_with_password

    user = make_user("pat@example.com")
    sign_in_with_password(client, user.email)
    _secret, codes = set_up_totp(client)
    text = client.get("/accounts/2fa/recovery-codes/download/").content.decode()
    first, *rest = text.splitlines()
    assert first == (
        f"Tripwire recovery codes for pat@example.com at {settings.SITE_URL}/ "  # type: ignore[attr-defined]
        "(each signs you in once, instead of the app's code):"
    )
    assert rest == codes


def test_the_sign_out_page_names_the_app_code_when_two_factor_is_on(
    client: Client, make_user: Callable[..., User]
) -> None:
    from tests.two_factor import set_up_totp, sign_in_with_password

    user = make_user("pat@example.com")
    sign_in_with_password(client, user.email)
    plain = client.get("/accounts/logout/").content.decode()
    assert "you will need your email address and password. Alerts" in plain
    set_up_totp(client)
    page = client.get("/accounts/logout/").content.decode()
    assert (
        "To sign in again you will need your email address and password, and a code from your "
        "authenticator app (or one of your recovery codes)."
    ) in page
