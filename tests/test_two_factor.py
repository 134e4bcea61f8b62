"""Two-factor sign-in (allauth.mfa): an authenticator app with recovery codes, and an
organization that requires it of its members before they see its pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client

from alerts_saas.accounts.models import Organization, Role, User
from alerts_saas.audit.models import Entry
from alerts_saas.ingest.models import ApiToken, Scope
from tests.api_client import Api
from tests.two_factor import open_set_up, set_up_totp, sign_in_with_password, totp_code

pytestmark = pytest.mark.django_db

AUTHENTICATE = "/accounts/2fa/authenticate/"
SET_UP = "/accounts/2fa/totp/activate/"
DEACTIVATE = "/accounts/2fa/totp/deactivate/"
REAUTH_BY_APP = "/accounts/2fa/reauthenticate/"


def test_setting_up_an_app_then_signing_in_asks_for_its_code(
    client: Client, make_user: Callable[..., User]
) -> None:
    user = make_user("pat@example.com")
    sign_in_with_password(client, user.email)
    index = client.get("/accounts/2fa/").content.decode()
    assert "Two-factor sign-in" in index and "You sign in with your password alone." in index

    page = open_set_up(client)
    assert "Set up an authenticator app" in page and "<svg" in page  # the QR code, inline
    wrong = client.post(SET_UP, {"code": "000000"})
    assert wrong.status_code == 200 and "Incorrect code." in wrong.content.decode()
    # What to try, for a code that is old or made by a phone whose clock is off.
    assert "check that your phone sets its clock automatically" in wrong.content.decode()
    assert not Authenticator.objects.filter(user=user).exists()

    secret, _codes = set_up_totp(client)
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert "You sign in with a code from your authenticator app." in (
        client.get("/accounts/2fa/").content.decode()
    )
    client.post("/accounts/logout/")

    # The password alone no longer signs in: it leads to the code's page.
    assert sign_in_with_password(client, user.email) == AUTHENTICATE
    assert client.get("/profile/").status_code == 302
    asked = client.get(AUTHENTICATE).content.decode()
    assert "Enter your sign-in code" in asked
    refused = client.post(AUTHENTICATE, {"code": "123456"})
    assert "Incorrect code." in refused.content.decode()
    code = totp_code(secret)
    assert client.post(AUTHENTICATE, {"code": code})["Location"] == "/"
    assert client.get("/profile/").status_code == 200

    # Someone who saw that code cannot sign in with it again.
    client.post("/accounts/logout/")
    sign_in_with_password(client, user.email)
    replayed = client.post(AUTHENTICATE, {"code": code})
    assert replayed.status_code == 200 and "This code was just used" in replayed.content.decode()


def test_a_recovery_code_signs_in_once(client: Client, make_user: Callable[..., User]) -> None:
    user = make_user("pat@example.com")
    sign_in_with_password(client, user.email)
    _secret, codes = set_up_totp(client)
    client.post("/accounts/logout/")

    sign_in_with_password(client, user.email)
    assert client.post(AUTHENTICATE, {"code": codes[0]})["Location"] == "/"
    left = client.get("/accounts/2fa/").content.decode()
    assert "9 of 10 codes left." in left
    client.post("/accounts/logout/")

    sign_in_with_password(client, user.email)
    again = client.post(AUTHENTICATE, {"code": codes[0]})
    assert again.status_code == 200 and "Incorrect code." in again.content.decode()
    assert client.post(AUTHENTICATE, {"code": codes[1]})["Location"] == "/"


@pytest.fixture
def strict_org(make_org: Callable[..., Organization]) -> Organization:
    org = make_org("Acme Ops")
    org.require_two_factor = True
    org.save()
    return org


def test_a_member_without_it_is_sent_to_set_it_up_then_let_through(
    client: Client, strict_org: Organization, add_member: Callable[..., object]
) -> None:
    add_member(strict_org, "member@acme.example")
    sign_in_with_password(client, "member@acme.example")
    alerts = f"/o/{strict_org.slug}/alerts/"

    sent = client.get(alerts)
    assert sent.status_code == 302 and sent["Location"] == SET_UP
    page = client.get(SET_UP, follow=True).content.decode()
    assert (
        "Acme Ops asks every member to use two-factor sign-in: set up an authenticator app "
        "to open its pages."
    ) in page
    # A change is refused the same way, and changes nothing.
    posted = client.post(f"/o/{strict_org.slug}/settings/", {"name": "Renamed"})
    assert posted["Location"] == SET_UP
    assert Organization.objects.get(pk=strict_org.pk).name == "Acme Ops"
    # An htmx request is sent as a whole page, not swapped into a part of one.
    partial = client.get(alerts, headers={"HX-Request": "true"})
    assert partial["HX-Redirect"] == SET_UP

    set_up_totp(client)
    codes_page = client.get("/accounts/2fa/recovery-codes/").content.decode()
    assert f'href="{alerts}"' in codes_page and "Continue where you were going" in codes_page
    assert client.get(alerts).status_code == 200
    assert client.get(f"/o/{strict_org.slug}/settings/").status_code == 200
    # Once there, the set-up's pages no longer offer to continue to it.
    assert "Continue where you were going" not in (
        client.get("/accounts/2fa/recovery-codes/").content.decode()
    )

    # Turning it off (the password was confirmed minutes ago) means set-up again first.
    warned = client.get(DEACTIVATE).content.decode()
    assert "An organization that requires two-factor sign-in will ask you" in warned
    assert client.post(DEACTIVATE)["Location"] == "/accounts/2fa/"
    assert not Authenticator.objects.filter(type=Authenticator.Type.TOTP).exists()
    assert client.get(alerts)["Location"] == SET_UP


def test_other_organizations_and_strangers_are_unaffected(
    client: Client,
    strict_org: Organization,
    make_org: Callable[..., Organization],
    add_member: Callable[..., object],
) -> None:
    relaxed = make_org("Beta Ops")
    add_member(relaxed, "member@beta.example")
    sign_in_with_password(client, "member@beta.example")
    assert client.get(f"/o/{relaxed.slug}/alerts/").status_code == 200
    # Not a member: still "no such organization", not a hint that it asks for two-factor.
    assert client.get(f"/o/{strict_org.slug}/alerts/").status_code == 404


def test_owners_and_admins_turn_it_on_and_the_api_keeps_working(
    client: Client, strict_org: Organization, add_member: Callable[..., object]
) -> None:
    strict_org.require_two_factor = False
    strict_org.save()
    add_member(strict_org, "admin@acme.example", Role.ADMIN)
    add_member(strict_org, "member@acme.example")
    settings_url = f"/o/{strict_org.slug}/settings/"

    member = Client()
    sign_in_with_password(member, "member@acme.example")
    assert "Up to each member" in member.get(settings_url).content.decode()
    refused = member.post(
        settings_url, {"name": "Acme Ops", "slug": "acme-ops", "require_two_factor": "on"}
    )
    assert refused.status_code == 403
    assert not Organization.objects.get(pk=strict_org.pk).require_two_factor

    sign_in_with_password(client, "admin@acme.example")
    form = client.get(settings_url).content.decode()
    assert "Members must use two-factor sign-in" in form
    # Not offered when making an organization: create_organization would not keep it.
    assert 'name="require_two_factor"' not in client.get("/orgs/new/").content.decode()
    saved = client.post(
        settings_url,
        {"name": "Acme Ops", "slug": strict_org.slug, "require_two_factor": "on"},
    )
    assert saved.status_code == 302
    assert Organization.objects.get(pk=strict_org.pk).require_two_factor
    recorded = Entry.objects.get(organization=strict_org, actor_label="admin@acme.example")
    assert recorded.object_type == "organization" and recorded.changes == [
        {"field": "members must use two-factor sign-in", "before": "off", "after": "on"}
    ]
    # The admin has none either: the next page of the organization asks for it.
    assert client.get(saved["Location"])["Location"] == SET_UP

    _token, secret = ApiToken.issue(strict_org, "terraform", scope=Scope.READ)
    assert Api(secret).get("/alerts", status=200).json()["items"] == []


def test_changing_recovery_codes_asks_for_the_apps_code_or_the_password_first(
    client: Client, make_user: Callable[..., User]
) -> None:
    user = make_user("pat@example.com")
    sign_in_with_password(client, user.email)
    secret, codes = set_up_totp(client)
    client.post("/accounts/logout/")
    sign_in_with_password(client, user.email)
    client.post(AUTHENTICATE, {"code": codes[0]})

    generate = "/accounts/2fa/recovery-codes/generate/"
    asked = client.get(generate, follow=True)
    page = asked.content.decode()
    assert "Before changing how you sign in, type your password again." in page
    by_app = asked.redirect_chain[-1][0].replace("/accounts/reauthenticate/", REAUTH_BY_APP)
    assert by_app.replace("&amp;", "&") in page.replace("&amp;", "&")
    app_page = client.get(by_app).content.decode()
    assert "type the code your authenticator app shows now" in app_page
    assert client.post(by_app, {"code": totp_code(secret)})["Location"] == generate
    assert "the 9 unused codes you have now stop working" in client.get(generate).content.decode()
    client.post(generate)
    assert "10 of 10 codes left." in client.get("/accounts/2fa/").content.decode()


def test_guessing_codes_is_stopped_after_a_few_tries(
    client: Client, make_user: Callable[..., User]
) -> None:
    user = make_user("pat@example.com")
    sign_in_with_password(client, user.email)
    secret, _codes = set_up_totp(client)
    client.post("/accounts/logout/")
    sign_in_with_password(client, user.email)
    for guess in ("111111", "222222", "333333", "444444", "555555"):
        assert "Incorrect code." in client.post(AUTHENTICATE, {"code": guess}).content.decode()
    # Even the right code waits now: a guesser cannot try the million.
    stopped = client.post(AUTHENTICATE, {"code": totp_code(secret)})
    assert "Too many failed sign-in attempts. Try again in 5 minutes." in stopped.content.decode()
    assert client.get("/profile/").status_code == 302
