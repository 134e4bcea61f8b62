"""An organization that asks for two-factor sign-in asks it of the session, not the account
(review r21): a session that signed in with the password alone is not let in because an app
was set up since, in another browser; it is asked for the app's code, then goes on to the
page it asked for."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from alerts_saas.accounts.models import Membership, Organization, Role, User
from alerts_saas.ingest.models import ApiToken
from tests.conftest import PASSWORD
from tests.two_factor import set_up_totp, sign_in_with_app, sign_in_with_password, totp_code

pytestmark = pytest.mark.django_db

SET_UP = "/accounts/2fa/totp/activate/"
ASK_CODE = "/accounts/2fa/reauthenticate/"
GENERATE_CODES = "/accounts/2fa/recovery-codes/generate/"
ASKED = "Acme asks for two-factor sign-in: enter a code from your authenticator app to continue."


@pytest.fixture
def org(make_org: Callable[..., Organization]) -> Organization:
    org = make_org("Acme")
    org.require_two_factor = True
    org.save()
    return org


@pytest.fixture
def pat(org: Organization, add_member: Callable[..., Membership]) -> Membership:
    return add_member(org, "pat@acme.example", Role.ADMIN)


def _asked_for_code(path: str) -> str:
    return f"{ASK_CODE}?{urlencode({'next': path})}"


def _password_only_session_then_app_elsewhere(org: Organization, pat: Membership) -> Client:
    """A session signed in with the password alone, sent to set up an app; then an app is
    set up for the account in another browser (the session's records: the password only)."""
    session = Client()
    sign_in_with_password(session, pat.user.email)
    assert session.get(f"/o/{org.slug}/").status_code == 302  # sent to set up an app
    TOTP.activate(pat.user, generate_totp_secret())  # set up in another browser
    methods = [m["method"] for m in session.session["account_authentication_methods"]]
    assert methods == ["password"]
    return session


def test_a_password_only_session_is_not_let_in_once_an_app_is_set_up_elsewhere(
    org: Organization, pat: Membership
) -> None:
    session = _password_only_session_then_app_elsewhere(org, pat)
    tokens = f"/o/{org.slug}/settings/api-tokens/"
    asked = session.get(tokens)
    assert asked.status_code == 302 and asked["Location"] == _asked_for_code(tokens)
    # A change is refused too, and changes nothing; an htmx request is sent as a whole page.
    session.post(tokens, {"name": "stolen", "scope": "write"})
    assert not ApiToken.objects.filter(organization=org).exists()
    alerts = f"/o/{org.slug}/alerts/"
    partial = session.get(
        alerts, headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{alerts}"}
    )
    assert partial["HX-Redirect"] == _asked_for_code(alerts)
    # The page it leaves open without it shows nothing of the organization but its name.
    leave = session.get(f"/o/{org.slug}/settings/leave/").content.decode()
    assert "which this sign-in did not use: to leave, type a code from your authenticator" in (
        leave
    )
    assert "Set up two-factor" not in leave  # the account has an app
    assert f"/o/{org.slug}/settings/members/" not in leave


def test_the_password_alone_does_not_make_that_session_new_recovery_codes_or_a_new_app(
    org: Organization, pat: Membership
) -> None:
    """Confirming it is you asks that session for the app's code, not the password: else it
    could make new recovery codes (or turn the app off and set up its own) and type one."""
    session = _password_only_session_then_app_elsewhere(org, pat)
    for change in (GENERATE_CODES, "/accounts/2fa/totp/deactivate/"):
        asked = session.get(change)
        assert asked["Location"] == _asked_for_code(change), change
        assert session.get(f"/accounts/reauthenticate/?next={change}")["Location"] == (
            _asked_for_code(change)
        )
        refused = session.post("/accounts/reauthenticate/", {"password": PASSWORD, "next": change})
        assert refused["Location"].startswith(ASK_CODE)
        assert session.get(change)["Location"] == _asked_for_code(change)
    session.post(GENERATE_CODES)
    session.post("/accounts/2fa/totp/deactivate/")
    assert Authenticator.objects.filter(user=pat.user, type=Authenticator.Type.TOTP).exists()
    assert not Authenticator.objects.filter(
        user=pat.user, type=Authenticator.Type.RECOVERY_CODES
    ).exists()
    # Leaving asks for the code too: an unattended session does not take tokens away.
    assert session.post(f"/o/{org.slug}/settings/leave/")["Location"].startswith(ASK_CODE)
    assert Membership.objects.filter(pk=pat.pk).exists()


def test_a_member_of_no_organization_that_asks_still_confirms_with_the_password(
    make_user: Callable[..., User],
) -> None:
    """Guard: the password still confirms it is you for everyone else."""
    user = make_user("sam@example.com")
    session = Client()
    sign_in_with_password(session, user.email)
    TOTP.activate(user, generate_totp_secret())
    asked = session.get(GENERATE_CODES)
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    assert session.post(asked["Location"], {"password": PASSWORD})["Location"] == GENERATE_CODES


def test_the_password_only_session_types_a_code_and_lands_on_the_page_it_asked_for(
    org: Organization, pat: Membership
) -> None:
    session = Client()
    sign_in_with_password(session, pat.user.email)
    other_browser = Client()
    sign_in_with_password(other_browser, pat.user.email)
    secret, _codes = set_up_totp(other_browser)

    tokens = f"/o/{org.slug}/settings/api-tokens/"
    sent = session.get(tokens, follow=True)
    assert sent.redirect_chain == [(_asked_for_code(tokens), 302)]
    page = sent.content.decode()
    assert ASKED in page  # says who asks and what to do, on allauth's page for the code
    assert "To open the organization's pages, type the code" in page
    assert "Use your password" not in page  # the password would not do
    refused = session.post(_asked_for_code(tokens), {"code": "000000"})
    assert refused.status_code == 200 and "Incorrect code." in refused.content.decode()

    typed = session.post(_asked_for_code(tokens), {"code": totp_code(secret)})
    assert typed["Location"] == tokens
    assert session.get(tokens).status_code == 200
    assert session.get(f"/o/{org.slug}/settings/leave/").status_code == 200
    assert "confirm it is you" not in session.get(f"/o/{org.slug}/settings/leave/").content.decode()


def test_a_session_that_signed_in_with_the_apps_code_is_let_in(
    org: Organization, pat: Membership
) -> None:
    """Guard: this was let in before the change too."""
    session = Client()
    sign_in_with_app(session, pat.user)
    assert session.get(f"/o/{org.slug}/settings/api-tokens/").status_code == 200


def test_a_session_that_set_up_its_app_here_is_let_in_while_that_app_is_the_accounts(
    org: Organization, pat: Membership
) -> None:
    session = Client()
    sign_in_with_password(session, pat.user.email)
    assert session.get(f"/o/{org.slug}/alerts/")["Location"] == SET_UP
    set_up_totp(session)  # the code typed to set it up proves it: allauth records nothing
    assert session.get(f"/o/{org.slug}/alerts/").status_code == 200

    # That app removed and another set up elsewhere: this session never typed its code.
    Authenticator.objects.filter(user=pat.user, type=Authenticator.Type.TOTP).delete()
    TOTP.activate(pat.user, generate_totp_secret())
    alerts = f"/o/{org.slug}/alerts/"
    assert session.get(alerts)["Location"] == _asked_for_code(alerts)


def test_an_organization_that_does_not_ask_lets_a_password_only_session_in(
    make_org: Callable[..., Organization], add_member: Callable[..., Membership]
) -> None:
    """Guard: an organization that does not ask for it is not changed."""
    relaxed = make_org("Beta")
    member = add_member(relaxed, "sam@beta.example")
    session = Client()
    sign_in_with_password(session, member.user.email)
    TOTP.activate(member.user, generate_totp_secret())
    assert session.get(f"/o/{relaxed.slug}/alerts/").status_code == 200
