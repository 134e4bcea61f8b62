"""Security emails: a change to how someone signs in is told to their mailbox, in the
product's words, so a change they did not make does not go unnoticed; turning two-factor
sign-in off shows in the activity log of each organization that requires it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client

from alerts_saas.accounts.models import Organization, User
from alerts_saas.audit.models import Entry
from alerts_saas.audit.words import describe
from tests.conftest import PASSWORD
from tests.two_factor import set_up_totp, sign_in_with_password

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-longer-pass-phrase-42"


def _only_mail(subject: str) -> mail.EmailMessage:
    found = [m for m in mail.outbox if m.subject == subject]
    assert len(found) == 1, [m.subject for m in mail.outbox]
    message = found[0]
    assert "Tripwire" in message.body and "If this wasn't you" in message.body
    assert "You are receiving this mail" not in message.body  # allauth's words
    mail.outbox.clear()
    return message


@pytest.mark.django_db(transaction=True)  # "turned on" is sent once the set-up is saved
def test_turning_two_factor_on_and_off_and_new_codes_are_emailed(
    client: Client, make_user: Callable[..., User]
) -> None:
    user = make_user("pat@example.com")
    sign_in_with_password(client, user.email)
    mail.outbox.clear()

    set_up_totp(client)
    on = _only_mail("[Tripwire] Two-factor sign-in turned on")
    assert on.to == ["pat@example.com"] and "authenticator app" in on.body

    client.post("/accounts/2fa/recovery-codes/generate/")
    assert "old codes no longer work" in _only_mail("[Tripwire] New recovery codes made").body

    client.post("/accounts/2fa/totp/deactivate/")
    off = _only_mail("[Tripwire] Two-factor sign-in turned off")
    assert "your password alone now signs you in" in off.body


def test_changing_or_resetting_the_password_is_emailed(
    client: Client, make_user: Callable[..., User]
) -> None:
    user = make_user("pat@example.com")
    client.force_login(user)
    changed = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    _only_mail("[Tripwire] Your password was changed")

    client.logout()
    client.post("/accounts/password/reset/", {"email": user.email})
    link = re.search(r"http\S+/accounts/password/reset/key/\S+", str(mail.outbox[0].body))
    assert link
    mail.outbox.clear()
    form_url = client.get(link.group(0))["Location"]
    done = client.post(form_url, {"password1": PASSWORD, "password2": PASSWORD})
    assert done.status_code == 302
    _only_mail("[Tripwire] Your password was reset")


def test_two_factor_off_is_in_the_log_of_an_organization_that_requires_it(
    client: Client,
    make_org: Callable[..., Organization],
    add_member: Callable[..., object],
) -> None:
    strict = make_org("Strict Ops")
    relaxed = make_org("Relaxed Ops")
    for org in (strict, relaxed):
        add_member(org, "bob@example.com")
    sign_in_with_password(client, "bob@example.com")
    set_up_totp(client)
    Organization.objects.filter(pk=strict.pk).update(require_two_factor=True)

    client.post("/accounts/2fa/totp/deactivate/")

    entries = Entry.objects.filter(object_type="member", action="changed")
    assert [e.organization_id for e in entries] == [strict.pk]
    sentence = str(describe(entries[0]))
    assert sentence == (
        "bob@example.com changed member “bob@example.com”: two-factor sign-in on → off"
    )
