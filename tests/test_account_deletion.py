"""Deleting one's own account (Your profile → Delete account): what happens to each of the
person's organizations, said on the page and done exactly so; asked only after confirming it
is you; the person lands signed out, with a confirmation email."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Invitation, Membership, Organization, Role, User
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.audit.models import Action, ActorKind, Entry
from alerts_saas.ingest.models import ApiToken, Scope
from integrations.pagerduty.models import PagerDutyAccount
from tests.conftest import PASSWORD
from tests.tenant_objects import populate

pytestmark = pytest.mark.django_db

PAGE = "/profile/delete/"
DELETED = "/account-deleted/"
PAT = "pat@example.com"


def _shown(client: Client) -> dict[str, list[str]]:
    """What the page's form sends besides the ticks: the organizations it says are left."""
    page = client.get(PAGE).content.decode()
    return {"left_org": re.findall(r'name="left_org" value="(\d+)"', page)}


def _confirmed(client: Client, data: dict[str, object] | None = None) -> Client:
    """POST the deletion as the page's form does, typing the password again when asked (as
    the page says)."""
    asked = client.post(PAGE, {**_shown(client), **(data or {})})
    assert asked.status_code == 302 and asked["Location"].startswith("/accounts/reauthenticate/")
    return client.post(asked["Location"], {"password": PASSWORD})  # type: ignore[return-value]


@pytest.fixture
def pat(make_user: Callable[..., User]) -> User:
    return make_user(PAT)


@pytest.fixture
def pat_client(pat: User) -> Client:
    client = Client()
    client.force_login(pat)
    return client


def test_the_profile_leads_to_the_page_and_a_get_deletes_nothing(
    pat: User, pat_client: Client, make_org: Callable[..., Organization]
) -> None:
    solo = make_org("Solo Ops", owner=pat)
    profile = pat_client.get("/profile/").content.decode()
    assert 'href="/profile/delete/"' in profile and "Delete account" in profile
    page = pat_client.get(PAGE)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Delete your account?" in text and 'name="delete_org"' in text
    assert "Delete <strong>Solo Ops</strong> and everything in it" in text
    assert 'name="csrfmiddlewaretoken"' in text
    assert User.objects.filter(pk=pat.pk).exists()
    assert Organization.objects.filter(pk=solo.pk).exists()


def test_it_asks_to_confirm_it_is_you_before_deleting(pat: User, pat_client: Client) -> None:
    asked = pat_client.post(PAGE)
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    assert User.objects.filter(pk=pat.pk).exists()  # not yet
    why = pat_client.get(asked["Location"]).content.decode()
    assert "Before you delete your account, type your password again." in why
    wrong = pat_client.post(asked["Location"], {"password": "not-the-password"})
    assert wrong.status_code == 200 and User.objects.filter(pk=pat.pk).exists()
    done = pat_client.post(asked["Location"], {"password": PASSWORD})
    assert done["Location"] == DELETED
    assert not User.objects.filter(pk=pat.pk).exists()


def test_csrf_is_checked(pat: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(pat)
    assert client.post(PAGE).status_code == 403
    assert User.objects.filter(pk=pat.pk).exists()


def test_the_only_member_deletes_the_organization_with_the_account_once_ticked(
    pat: User, pat_client: Client, make_org: Callable[..., Organization]
) -> None:
    solo = make_org("Solo Ops", owner=pat)
    Alert.objects.create(organization=solo, name="Checkout errors", created_by=pat)
    Authenticator.objects.create(user=pat, type=Authenticator.Type.TOTP, data={})

    unticked = _confirmed(pat_client)
    assert unticked.status_code == 400
    assert "Nothing was deleted: tick Solo Ops to confirm it goes with your account." in (
        unticked.content.decode()
    )
    assert User.objects.filter(pk=pat.pk).exists() and Organization.objects.filter(pk=solo.pk)
    # Shown at the reauthentication's URL (the POST resumed there): the form posts back here.
    assert f'<form method="post" action="{PAGE}"' in unticked.content.decode()

    done = pat_client.post(PAGE, {**_shown(pat_client), "delete_org": [str(solo.pk)]})
    assert done["Location"] == DELETED
    assert not User.objects.filter(pk=pat.pk).exists()
    assert not Organization.objects.filter(pk=solo.pk).exists()
    assert not Alert.objects.filter(organization_id=solo.pk).exists()
    assert not EmailAddress.objects.filter(email=PAT).exists()
    assert not Authenticator.objects.filter(user_id=pat.pk).exists()


def test_a_member_leaves_the_organization_and_it_keeps_everything_else(
    pat: User,
    pat_client: Client,
    make_org: Callable[..., Organization],
    make_user: Callable[..., User],
) -> None:
    owner = make_user("olivia@acme.example")
    acme = make_org("Acme", owner=owner)
    Membership.objects.create(organization=acme, user=pat, role=Role.ADMIN)
    made = populate(acme, owner)  # one of every tenant object, none of them Pat's
    mine = Alert.objects.create(organization=acme, name="Pat's alert", created_by=pat)
    other = make_org("Elsewhere")
    theirs = populate(other, other.memberships.get().user)

    page = pat_client.get(PAGE).content.decode()
    assert re.search(
        r"<h2>You leave</h2>\s*<ul id=\"left\">\s*"
        r"<li data-left><input[^>]*><strong>Acme</strong> \(admin\)",
        page,
    )
    assert "Deleted with your account" not in page  # nothing goes but the account

    assert _confirmed(pat_client)["Location"] == DELETED
    assert not Membership.objects.filter(user_id=pat.pk).exists()
    assert Organization.objects.filter(pk=acme.pk).exists()
    mine.refresh_from_db()
    assert mine.created_by_id is None  # the alert stays, nobody's now
    for obj in [*made.values(), *theirs.values()]:
        assert type(obj)._default_manager.filter(pk=obj.pk).exists(), obj
    left = Entry.objects.get(organization=acme, object_type="member", action=Action.DELETED)
    assert left.actor_label == PAT and left.object_name == PAT and left.actor_user_id is None
    admin = Client()
    admin.force_login(owner)
    activity = admin.get(f"/o/{acme.slug}/settings/activity/").content.decode()
    assert f"<strong>{PAT}</strong> left the organization" in activity


def test_the_only_owner_of_an_organization_with_members_is_told_what_to_do(
    pat: User,
    pat_client: Client,
    make_org: Callable[..., Organization],
    add_member: Callable[..., Membership],
) -> None:
    acme = make_org("Acme", owner=pat)
    add_member(acme, "dana@acme.example")
    add_member(acme, "eve@acme.example", Role.ADMIN)
    text = pat_client.get(PAGE).content.decode()
    assert "You can't delete your account yet" in text
    assert (
        "You are the only owner of <strong>Acme</strong>, which has 2 other members, and an "
        "organization always keeps an owner."
    ) in text
    assert f'<a href="/o/{acme.slug}/settings/members/">Make one of them an owner</a>' in text
    assert f'<a href="/o/{acme.slug}/settings/delete/">delete Acme</a>' in text
    assert "Delete my account" not in text  # nothing to press

    refused = _confirmed(pat_client)
    assert refused.status_code == 400
    assert "Nothing was deleted. You are the only owner of Acme" in refused.content.decode()
    assert User.objects.filter(pk=pat.pk).exists()
    assert Membership.objects.filter(organization=acme).count() == 3


def test_an_organization_still_paging_is_not_deleted_nor_the_account(
    pat: User, pat_client: Client, make_org: Callable[..., Organization]
) -> None:
    solo = make_org("Solo Ops", owner=pat)
    alert = Alert.objects.create(organization=solo, name="Checkout errors")
    Firing.objects.create(organization=solo, alert=alert, count_at_open=3)
    text = pat_client.get(PAGE).content.decode()
    assert "<strong>Solo Ops</strong> would be deleted with your account" in text
    assert f'href="/o/{solo.slug}/settings/delete/">See what is paging and stop it' in text
    refused = _confirmed(pat_client, {"delete_org": [str(solo.pk)]})
    assert refused.status_code == 400
    assert User.objects.filter(pk=pat.pk).exists() and Organization.objects.filter(pk=solo.pk)


def test_their_api_tokens_are_revoked_and_refused_afterwards(
    pat: User,
    pat_client: Client,
    make_org: Callable[..., Organization],
    make_user: Callable[..., User],
) -> None:
    acme = make_org("Acme", owner=make_user("olivia@acme.example"))
    Membership.objects.create(organization=acme, user=pat, role=Role.ADMIN)
    token, secret = ApiToken.issue(acme, "deploy-bot", created_by=pat, scope=Scope.WRITE)
    api = Client()
    assert api.get("/api/v1/alerts", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    page = pat_client.get(PAGE).content.decode()
    assert "Your 1 API token there stops working" in page

    _confirmed(pat_client)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api.get("/api/v1/alerts", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code in (
        401,
        403,
    )
    revoked = Entry.objects.get(organization=acme, object_type="api_token", action=Action.REVOKED)
    assert revoked.actor_label == PAT


def test_their_activity_entries_keep_who_acted(
    pat: User,
    pat_client: Client,
    make_org: Callable[..., Organization],
    make_user: Callable[..., User],
) -> None:
    owner = make_user("olivia@acme.example")
    acme = make_org("Acme", owner=owner)
    Membership.objects.create(organization=acme, user=pat, role=Role.ADMIN)
    Entry.objects.create(
        organization=acme,
        actor_kind=ActorKind.USER,
        actor_user=pat,
        actor_label=PAT,
        object_type="alert",
        object_id="1",
        object_name="Checkout errors",
        action=Action.CHANGED,
    )
    _confirmed(pat_client)
    entry = Entry.objects.get(organization=acme, object_name="Checkout errors")
    assert entry.actor_user_id is None and entry.actor_label == PAT


@pytest.mark.django_db(transaction=True)
def test_signed_out_everywhere_and_told_by_email(
    pat: User,
    make_org: Callable[..., Organization],
    make_user: Callable[..., User],
) -> None:
    solo = make_org("Solo & Co", owner=pat)
    acme = make_org("Acme", owner=make_user("olivia@acme.example"))
    Membership.objects.create(organization=acme, user=pat)
    here, elsewhere = Client(), Client()
    here.force_login(pat)
    elsewhere.force_login(pat)
    mail.outbox.clear()

    done = _confirmed(here, {"delete_org": [str(solo.pk)]})
    landed = here.get(done["Location"])
    text = landed.content.decode()
    assert "Your account is deleted" in text
    assert f"The account <strong>{PAT}</strong> is deleted, and you are signed out." in text
    assert here.get("/profile/")["Location"].startswith("/accounts/login/")
    assert elsewhere.get("/profile/")["Location"].startswith("/accounts/login/")

    [message] = mail.outbox
    assert message.to == [PAT]
    assert message.subject == "[Tripwire] Your account was deleted"
    assert f"Your Tripwire account {PAT} was deleted on" in message.body
    assert "You left: Acme." in message.body
    assert "Deleted with it, and everything in them: Solo & Co." in message.body
    assert "&amp;" not in message.body


def test_with_two_factor_the_code_confirms_it_is_you(
    make_user: Callable[..., User], make_org: Callable[..., Organization]
) -> None:
    from tests.two_factor import set_up_totp, sign_in_with_password, totp_code

    user = make_user("tess@example.com")
    client = Client()
    sign_in_with_password(client, user.email)
    secret, _codes = set_up_totp(client)
    client.logout()
    client.force_login(user)  # a session that has not confirmed it is them lately

    asked = client.post(PAGE)
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    page = client.get(asked["Location"]).content.decode()
    code_page = re.search(r'href="(/accounts/2fa/reauthenticate/[^"]*)"', page)
    assert code_page, page
    url = code_page.group(1).replace("&amp;", "&")
    why = client.get(url).content.decode()
    assert "Before you delete your account, type the code your authenticator app shows now." in (
        why
    )
    done = client.post(url, {"code": totp_code(secret)})
    assert done["Location"] == DELETED
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Authenticator.objects.filter(user_id=user.pk).exists()


def test_a_mail_server_that_fails_does_not_hide_that_the_account_is_gone(
    pat: User, pat_client: Client, settings: object
) -> None:
    from tests.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # type: ignore[attr-defined]
    done = _confirmed(pat_client)
    assert not User.objects.filter(pk=pat.pk).exists()
    text = pat_client.get(done["Location"]).content.decode()
    assert "Your account is deleted" in text
    assert "The email to confirm it could not be sent." in text


def test_what_changed_since_the_page_was_shown_is_not_done(
    pat: User,
    pat_client: Client,
    make_org: Callable[..., Organization],
    make_user: Callable[..., User],
    add_member: Callable[..., Membership],
) -> None:
    solo = make_org("Solo Ops", owner=pat)
    acme = make_org("Acme", owner=make_user("olivia@acme.example"))
    Membership.objects.create(organization=acme, user=pat)
    shown = _shown(pat_client)
    assert shown == {"left_org": [str(acme.pk)]}
    add_member(solo, "dana@solo.example")  # Solo is no longer Pat's alone
    beta = make_org("Beta", owner=make_user("bo@beta.example"))
    Membership.objects.create(organization=beta, user=pat)  # nor is Acme all Pat leaves

    asked = pat_client.post(PAGE, {**shown, "delete_org": [str(solo.pk)]})
    refused = pat_client.post(asked["Location"], {"password": PASSWORD})
    assert refused.status_code == 400
    assert "Nothing was deleted" in refused.content.decode()
    assert User.objects.filter(pk=pat.pk).exists()
    assert Membership.objects.filter(user=pat).count() == 3
    assert Organization.objects.filter(pk=solo.pk).exists()

    Membership.objects.filter(organization=solo).exclude(user=pat).delete()
    again = pat_client.post(PAGE, {**shown, "delete_org": [str(solo.pk)]})
    assert again.status_code == 400  # Beta was not on the page Pat read
    text = again.content.decode()
    assert "your organizations changed since this page was shown" in text
    assert "<strong>Beta</strong>" in text  # what the page says now
    assert Membership.objects.filter(user=pat).count() == 3


def test_the_page_costs_the_same_queries_however_many_organizations(
    pat: User,
    pat_client: Client,
    make_org: Callable[..., Organization],
    make_user: Callable[..., User],
    django_assert_max_num_queries: Callable[..., object],
) -> None:
    def join(n: int) -> None:
        make_org(f"Solo {n}", owner=pat)
        other = make_org(f"Team {n}", owner=make_user(f"owner{n}@team.example"))
        Membership.objects.create(organization=other, user=pat, role=Role.ADMIN)

    join(0)
    with django_assert_max_num_queries(20) as few:  # type: ignore[attr-defined]
        pat_client.get(PAGE)
    for n in range(1, 6):
        join(n)
    with django_assert_max_num_queries(len(few.captured_queries)):  # type: ignore[attr-defined]
        assert "Solo 5" in pat_client.get(PAGE).content.decode()


def test_the_page_says_what_leaving_takes_and_the_deletion_does_it(
    pat: User,
    pat_client: Client,
    make_org: Callable[..., Organization],
    make_user: Callable[..., User],
) -> None:
    acme = make_org("Acme", owner=make_user("olivia@acme.example"))
    Membership.objects.create(organization=acme, user=pat, role=Role.ADMIN)
    invitation, _ = Invitation.issue(acme, "friend@elsewhere.example", Role.MEMBER, pat)
    account = PagerDutyAccount.objects.create(
        organization=acme,
        pd_account_id="PACC1",
        subdomain="acme",
        name="acme-us",
        region="us",
        access_token="at",
        refresh_token="rt",
        expires_at=timezone.now() + timedelta(days=1),
        scope="write",
        connected_by=pat,
    )
    page = pat_client.get(PAGE).content.decode()
    said = " ".join(re.sub(r"<[^>]+>", "", page).split())
    assert "Your 1 pending invitation is withdrawn: the link will say so" in said
    assert (
        "The 1 PagerDuty account you connected keeps paging, but Acknowledge, Resolve and "
        "notes from Tripwire act as you in PagerDuty until an admin reconnects it." in said
    )

    _confirmed(pat_client)
    assert Invitation.objects.get(pk=invitation.pk).state == Invitation.State.REVOKED
    account.refresh_from_db()
    assert account.connected_by_id is None and account.connected_by_left_at is not None


class BrokenBackend:
    """A mail backend that fails as no SMTP server does (an API backend's own error)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def send_messages(self, messages: object) -> int:
        raise RuntimeError("the mail provider answered 503")


def test_any_mail_backends_failure_after_the_deletion_is_said_not_a_500(
    pat: User, pat_client: Client, settings: object
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.BrokenBackend"  # type: ignore[attr-defined]
    done = _confirmed(pat_client)
    assert not User.objects.filter(pk=pat.pk).exists()
    assert (
        "The email to confirm it could not be sent."
        in pat_client.get(done["Location"]).content.decode()
    )


def test_removed_by_an_admin_while_deleting_is_refused_in_words(
    pat: User,
    pat_client: Client,
    make_org: Callable[..., Organization],
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from alerts_saas.account_deletion import deletion

    acme = make_org("Acme", owner=make_user("olivia@acme.example"))
    Membership.objects.create(organization=acme, user=pat)
    planned = deletion.plan

    def admin_removes_pat_meanwhile(user: User) -> deletion.Plan:
        found = planned(user)
        Membership.objects.filter(organization=acme, user=pat).delete()
        return found

    monkeypatch.setattr(deletion, "plan", admin_removes_pat_meanwhile)
    refused = _confirmed(pat_client)
    assert refused.status_code == 400
    assert "your organizations changed since this page was shown" in refused.content.decode()
    assert User.objects.filter(pk=pat.pk).exists()
