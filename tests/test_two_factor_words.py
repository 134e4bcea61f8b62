"""Two-factor sign-in in words a person acts on: an app's code typed again within its 30
seconds is said as just used (wait for the next one), not "Incorrect code." (which reads as
a wrong phone clock); signing in with a recovery code says so, how many are left and, when
few are, where to make new ones."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from django.test import Client

from alerts_saas.accounts.models import User
from tests.two_factor import set_up_totp, sign_in_with_password, totp_code

pytestmark = pytest.mark.django_db

AUTHENTICATE = "/accounts/2fa/authenticate/"
REAUTHENTICATE = "/accounts/2fa/reauthenticate/"
JUST_USED = "This code was just used, and each code works once."
CODES_PAGE = "/accounts/2fa/recovery-codes/"


def _words(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.fixture
def user(client: Client, make_user: Callable[..., User]) -> User:
    made = make_user("pat@example.com")
    sign_in_with_password(client, made.email)
    return made


def test_a_code_typed_again_is_said_as_just_used(client: Client, user: User) -> None:
    secret, _codes = set_up_totp(client)
    client.post("/accounts/logout/")
    sign_in_with_password(client, user.email)
    code = totp_code(secret)
    assert client.post(AUTHENTICATE, {"code": code})["Location"] == "/"
    client.post("/accounts/logout/")

    sign_in_with_password(client, user.email)
    again = client.post(AUTHENTICATE, {"code": code})
    words = _words(again)
    assert again.status_code == 200
    assert JUST_USED in words and "Wait for your app to show the next one" in words
    assert "Incorrect code." not in words
    # A wrong code is still wrong, and the next code signs in.
    wrong = "000000" if code != "000000" else "111111"
    assert "Incorrect code." in _words(client.post(AUTHENTICATE, {"code": wrong}))
    assert client.get("/profile/").status_code == 302  # not signed in yet


def test_a_code_typed_again_to_confirm_a_change_is_said_as_just_used(
    client: Client, user: User
) -> None:
    secret, _codes = set_up_totp(client)
    code = totp_code(secret)
    assert client.post(REAUTHENTICATE, {"code": code}).status_code == 302
    refused = client.post(REAUTHENTICATE, {"code": code})
    assert refused.status_code == 200 and JUST_USED in _words(refused)


def test_a_recovery_code_says_how_many_are_left(client: Client, user: User) -> None:
    _secret, codes = set_up_totp(client)
    for n, code in enumerate(codes, start=1):
        client.post("/accounts/logout/")
        sign_in_with_password(client, user.email)
        signed_in = client.post(AUTHENTICATE, {"code": code}, follow=True)
        assert signed_in.status_code == 200
        words = _words(signed_in)
        left = 10 - n
        if left > 3:
            assert (
                f"You signed in with a recovery code; it won't work again. {left} of 10 left."
                in words
            )
            assert f'href="{CODES_PAGE}"' not in signed_in.content.decode().split("</main>")[0]
        elif left:
            assert f"it won't work again. {left} of 10 left. Make new recovery codes" in words
            assert f'<a href="{CODES_PAGE}">Make new recovery codes</a>' in (
                signed_in.content.decode()
            )
        else:
            assert "You signed in with your last recovery code: none is left." in words
            assert f'<a href="{CODES_PAGE}">Make new recovery codes</a>' in (
                signed_in.content.decode()
            )


def test_a_recovery_code_confirming_a_change_says_so(client: Client, user: User) -> None:
    _secret, codes = set_up_totp(client)
    confirmed = client.post(REAUTHENTICATE, {"code": codes[0]}, follow=True)
    assert "You confirmed with a recovery code; it won't work again. 9 of 10 left." in (
        _words(confirmed)
    )


def test_the_apps_code_says_nothing_about_recovery_codes(client: Client, user: User) -> None:
    secret, _codes = set_up_totp(client)
    client.post("/accounts/logout/")
    sign_in_with_password(client, user.email)
    signed_in = client.post(AUTHENTICATE, {"code": totp_code(secret)}, follow=True)
    assert signed_in.status_code == 200 and "recovery code" not in _words(signed_in)
