"""Two-factor codes typed on a phone: the code fields open the number pad and take the code
the phone offers (inputmode="numeric", autocomplete="one-time-code"), and the key to type
instead is shown whole (it wraps) with a button to copy it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from alerts_saas.accounts.models import User
from tests.two_factor import open_set_up, set_up_totp, sign_in_with_password

pytestmark = pytest.mark.django_db


def _code_input(page: str) -> str:
    found = re.search(r'<input[^>]*name="code"[^>]*>', page)
    assert found, "a code field"
    return found.group(0)


def _numeric(field: str) -> None:
    assert 'inputmode="numeric"' in field and 'autocomplete="one-time-code"' in field


def test_the_set_up_page_shows_the_key_whole_with_a_copy_button(
    client: Client, make_user: Callable[..., User]
) -> None:
    sign_in_with_password(client, make_user("pat@example.com").email)
    page = open_set_up(client)
    key = re.search(r'<pre><code id="authenticator-secret"[^>]*>([A-Z2-7]{32})</code></pre>', page)
    assert key, "the key, in a block that wraps"
    assert re.search(
        r'<button type="button"[^>]*data-copy="authenticator-secret">Copy</button>', page
    )
    assert "js/copy.js" in page
    _numeric(_code_input(page))


def test_the_sign_in_code_field_opens_the_number_pad(
    client: Client, make_user: Callable[..., User]
) -> None:
    user = make_user("pat@example.com")
    sign_in_with_password(client, user.email)
    set_up_totp(client)
    client.post("/accounts/logout/")
    sign_in_with_password(client, user.email)
    _numeric(_code_input(client.get("/accounts/2fa/authenticate/").content.decode()))
