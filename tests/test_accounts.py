"""Sign-up, email verification and allauth's rate limits."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_an_unverified_account_cannot_sign_in_until_the_email_is_confirmed(client, mailoutbox):
    client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "password1": "A-long-pass-99", "password2": "A-long-pass-99"},
    )
    client.logout()
    response = client.post(
        "/accounts/login/", {"login": "new@example.com", "password": "A-long-pass-99"}
    )
    assert response["Location"] == "/accounts/confirm-email/"
    assert len(mailoutbox) == 1  # a re-send within 3 minutes is held back by allauth
    assert "/o/" not in client.get("/", follow=True).request["PATH_INFO"]


def test_signup_form_errors_are_in_words_and_save_nothing(client) -> None:
    from alerts_saas.accounts.models import User

    response = client.post(
        "/accounts/signup/", {"email": "bad", "password1": "short", "password2": "other"}
    )
    body = response.content.decode()
    assert "Enter a valid email address." in body
    assert not User.objects.exists()


def test_repeated_failed_logins_are_rate_limited(client, make_user) -> None:
    make_user("target@example.com")
    for _ in range(5):
        response = client.post(
            "/accounts/login/", {"login": "target@example.com", "password": "wrong"}
        )
        assert "The email address and/or password you specified are not correct." in (
            response.content.decode()
        )
    response = client.post("/accounts/login/", {"login": "target@example.com", "password": "wrong"})
    assert "Too many failed sign-in attempts. Try again in 5 minutes." in response.content.decode()


def test_password_reset_sends_a_link(client, make_user, mailoutbox) -> None:
    make_user("forgetful@example.com")
    client.post("/accounts/password/reset/", {"email": "forgetful@example.com"})
    assert len(mailoutbox) == 1
    assert "/accounts/password/reset/key/" in mailoutbox[0].body


# --- In the product's words and style --------------------------------------------------------

ALLOWED_CAPITALS = {"Tripwire", "PagerDuty", "UTC", "I"}


def _title_case_words(page: str) -> list[str]:
    """Headings, labels, legends and buttons written In Title Case (allauth's style)."""
    import html
    import re

    found = []
    for tag in ("h1", "h2", "label", "legend", "button"):
        for inner in re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", page, re.S):
            inner = re.sub(r'<span class="badge[^"]*">.*?</span>', "", inner)  # names of states
            words = html.unescape(re.sub(r"<[^>]+>", " ", inner)).split()
            capitals = [
                w for w in words[1:] if w[:1].isupper() and w.strip(".,?") not in ALLOWED_CAPITALS
            ]
            if capitals:
                found.append(" ".join(words))
    return found


def test_the_verification_email_speaks_as_the_product(client, mailoutbox) -> None:
    client.post(
        "/accounts/signup/",
        {"email": "new@example.com", "password1": "A-long-pass-99", "password2": "A-long-pass-99"},
    )
    (mail,) = mailoutbox
    assert mail.subject == "[Tripwire] Confirm your email address to finish signing up"
    assert mail.body.startswith("Hello,\n\nThanks for signing up for Tripwire. To confirm")
    assert f"{settings.SITE_URL}/accounts/confirm-email/" in mail.body
    assert mail.body.rstrip().endswith("— Tripwire")
    assert "testserver!" not in mail.body and "Hello from" not in mail.body


def test_the_password_reset_email_speaks_as_the_product(client, make_user, mailoutbox) -> None:
    make_user("forgetful@example.com")
    client.post("/accounts/password/reset/", {"email": "forgetful@example.com"})
    (mail,) = mailoutbox
    assert mail.subject == "[Tripwire] Reset your password"
    assert "your Tripwire account (forgetful@example.com)" in mail.body
    assert "Hello from" not in mail.body and "testserver" not in mail.body.split("http")[0]


@pytest.mark.parametrize(
    ("path", "heading", "signed_in"),
    [
        ("/accounts/login/", "Sign in to Tripwire", False),
        ("/accounts/signup/", "Create your Tripwire account", False),
        ("/accounts/password/reset/", "Reset your password", False),
        ("/accounts/email/", "Email addresses", True),
        ("/accounts/password/change/", "Change your password", True),
        ("/accounts/logout/", "Sign out?", True),
        ("/accounts/reauthenticate/code/", "Confirm it is you", True),
    ],
)
def test_account_pages_are_the_products_pages_in_sentence_case(
    client, make_user, path, heading, signed_in
) -> None:
    if signed_in:
        client.force_login(make_user("someone@example.com"))
    page = client.get(path).content.decode()
    assert 'class="container-fluid site-header"' in page  # the product's layout
    assert f"<h1>{heading}</h1>" in page
    assert _title_case_words(page) == []


def test_removing_an_email_address_is_a_danger_button_beside_the_others(client, make_user):
    user = make_user("someone@example.com")
    EmailAddress.objects.create(user=user, email="someone@work.example", verified=True)
    client.force_login(user)
    page = client.get("/accounts/email/").content.decode()
    row = page.split(">someone@work.example</span>", 1)[1].split("</form>", 1)[0]
    assert '<button type="submit" name="action_primary" class="secondary"' in row
    assert 'name="action_remove" class="danger"' in row


def test_a_wrong_password_is_said_at_the_top_in_words(client, make_user) -> None:
    make_user("someone@example.com")
    response = client.post("/accounts/login/", {"login": "someone@example.com", "password": "x"})
    page = response.content.decode()
    assert '<div class="flash flash-error" role="alert" id="form-errors">' in page
    assert "The email address and/or password you specified are not correct." in page
    assert 'value="someone@example.com"' in page  # what was typed stays


def _login(client, email: str, password: str, client_address: str):
    """A sign-in through our proxy (10.0.0.1), which adds the client to X-Forwarded-For."""
    return client.post(
        "/accounts/login/",
        {"login": email, "password": password},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR=f"192.0.2.66, {client_address}",  # the first is the client's claim
    )


def test_behind_the_proxy_one_clients_failed_logins_lock_out_no_one_else(
    client, make_user, settings
) -> None:
    """allauth limits failed sign-ins per address too: behind the production proxy every
    person would share the proxy's address, so ten bad tries would lock everyone out (at
    3 a.m., the person paged included). The address is the one the proxy added."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    make_user("oncall@example.com", password="right-password-123")
    for n in range(12):
        _login(client, f"nobody{n}@example.com", "wrong", "203.0.113.9")
    blocked = _login(client, "nobody@example.com", "wrong", "203.0.113.9").content.decode()
    assert "Too many failed sign-in attempts. Try again in 5 minutes." in blocked
    oncall = _login(client, "oncall@example.com", "right-password-123", "198.51.100.7")
    assert oncall.status_code == 302
