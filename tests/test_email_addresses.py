"""Profile → Email addresses offers for each address only what does something for it (r20):
the only address, primary and confirmed, was offered "Make primary" (which emailed a false
"[Tripwire] Email Changed … from X to X … someone else can sign in"), "Send confirmation
again" (which emailed "Someone, probably you, added X") and "Remove". Posted anyway, they are
refused and email nobody; the security emails of a real change are in the product's words."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from alerts_saas.accounts.models import User

pytestmark = pytest.mark.django_db

ME = "pat@example.com"
ACTIONS = ("action_primary", "action_send", "action_remove")


def _offered(page: str, email: str) -> list[str]:
    """The actions the page offers for `email` (its row of the list)."""
    rows = re.findall(r'<li id="email-\d+">(.*?)</li>', page, re.S)
    (row,) = [r for r in rows if f">{email}</span>" in r]
    return [name for name in ACTIONS if f'name="{name}"' in row]


def _flash(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(str(m) for m in response.context["messages"])


@pytest.fixture
def me(make_user: Callable[..., User], client: Client) -> User:
    user = make_user(ME)
    client.force_login(user)
    return user


def test_the_only_address_primary_and_confirmed_is_offered_nothing_to_do(
    me: User, client: Client
) -> None:
    page = client.get("/accounts/email/").content.decode()
    assert _offered(page, ME) == []
    assert "You sign in with it." in page


@pytest.mark.parametrize(
    ("action", "said"),
    [
        ("action_primary", f"{ME} is already your primary address."),
        ("action_send", f"{ME} is already confirmed: there is no link to send."),
        ("action_remove", f"{ME} is your primary address, the one you sign in with"),
    ],
)
def test_posted_anyway_they_are_refused_and_email_nobody(
    me: User, client: Client, action: str, said: str
) -> None:
    response = client.post("/accounts/email/", {"email": ME, action: ""}, follow=True)
    assert said in _flash(response)
    assert mail.outbox == []
    address = EmailAddress.objects.get(user=me)
    assert (address.email, address.primary, address.verified) == (ME, True, True)


def test_each_other_address_is_offered_what_it_needs(me: User, client: Client) -> None:
    EmailAddress.objects.create(user=me, email="pat@work.example", verified=True)
    EmailAddress.objects.create(user=me, email="pat@new.example", verified=False)
    page = client.get("/accounts/email/").content.decode()
    assert _offered(page, ME) == []
    assert _offered(page, "pat@work.example") == ["action_primary", "action_remove"]
    assert _offered(page, "pat@new.example") == ["action_send", "action_remove"]
    # An address not confirmed is not made primary, even posted.
    response = client.post(
        "/accounts/email/", {"email": "pat@new.example", "action_primary": ""}, follow=True
    )
    assert "Confirm pat@new.example before making it primary" in _flash(response)
    assert EmailAddress.objects.get(user=me, primary=True).email == ME
    # Sending the link again to it still works.
    client.post("/accounts/email/", {"email": "pat@new.example", "action_send": ""})
    (sent,) = mail.outbox
    assert sent.to == ["pat@new.example"]
    assert sent.subject == "[Tripwire] Confirm your email address"


def test_a_real_change_of_primary_and_a_removal_are_emailed_in_the_products_words(
    me: User, client: Client
) -> None:
    EmailAddress.objects.create(user=me, email="pat@work.example", verified=True)
    client.post("/accounts/email/", {"email": "pat@work.example", "action_primary": ""})
    assert EmailAddress.objects.get(user=me, primary=True).email == "pat@work.example"
    (changed,) = mail.outbox
    assert changed.to == [ME]  # the address that was primary hears of it
    assert changed.subject == "[Tripwire] Your primary email address was changed"
    assert (
        "The primary email address of your Tripwire account is now pat@work.example, in place "
        f"of {ME}: you sign in with it, and alerts about broken paging go to it."
    ) in changed.body
    assert "Email Changed" not in changed.subject and "has been changed" not in changed.body

    mail.outbox.clear()
    client.post("/accounts/email/", {"email": ME, "action_remove": ""})
    assert list(EmailAddress.objects.filter(user=me).values_list("email", flat=True)) == [
        "pat@work.example"
    ]
    (removed,) = mail.outbox
    assert removed.to == ["pat@work.example"]
    assert removed.subject == "[Tripwire] An email address was removed from your account"
    assert f"{ME} was removed from your Tripwire account." in removed.body
    assert "Email Removed" not in removed.subject and "has been removed" not in removed.body
