"""Sign-up, email verification and allauth's rate limits."""

from __future__ import annotations

import pytest

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
    assert "Too many failed login attempts. Try again later." in response.content.decode()


def test_password_reset_sends_a_link(client, make_user, mailoutbox) -> None:
    make_user("forgetful@example.com")
    client.post("/accounts/password/reset/", {"email": "forgetful@example.com"})
    assert len(mailoutbox) == 1
    assert "/accounts/password/reset/key/" in mailoutbox[0].body
