"""Two-factor sign-in steps shared by the tests: an authenticator app's code (RFC 6238,
written here, not taken from allauth) and signing in through the real pages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from alerts_saas.accounts.models import User
from tests.conftest import PASSWORD

SECRET_FIELD = re.compile(r'id="authenticator-secret"[^>]*>([A-Z2-7=]+)</code>')


def totp_code(secret: str) -> str:
    """The 6-digit code an authenticator app shows now for a base32 secret (30 s steps);
    waits out the last two seconds of a step so the code does not turn on its way."""
    if 30 - time.time() % 30 < 2:
        time.sleep(2.1)
    counter = int(time.time()) // 30
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def sign_in_with_password(client: Client, email: str) -> str:
    """Sign in through the login page; the URL it sends to next."""
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]
    return str(response["Location"])


def open_set_up(client: Client) -> str:
    """The set-up page of a signed-in client, typing the password again first as asked."""
    page = client.get("/accounts/2fa/totp/activate/")
    if page.status_code == 302 and page["Location"].startswith("/accounts/reauthenticate/"):
        asked = client.get(page["Location"]).content.decode()
        assert "Before changing how you sign in, type your password again." in asked
        page = client.post(page["Location"], {"password": PASSWORD}, follow=True)
    assert page.status_code == 200
    return str(page.content.decode())


def set_up_totp(client: Client) -> tuple[str, list[str]]:
    """Through the set-up page of a signed-in client: the app's secret, the recovery codes."""
    match = SECRET_FIELD.search(open_set_up(client))
    assert match, "the page shows the key to type"
    secret = match.group(1)
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)}, follow=True)
    codes = re.findall(r"<li><code>([0-9a-z]+)</code></li>", done.content.decode())
    assert len(codes) == 10, done.content.decode()[:3000]
    return secret, codes


def sign_in_with_app(client: Client, user: User) -> str:
    """Give the user an authenticator app (made here, not through the set-up pages) and sign
    in through the real pages with the password and the app's code; the app's secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    assert sign_in_with_password(client, user.email) == "/accounts/2fa/authenticate/"
    signed_in = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert signed_in.status_code == 302, signed_in.content.decode()[:2000]
    return secret
