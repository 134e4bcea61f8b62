"""A person's API tokens stop when they lose the right to make them (security review
finding 2): removed, leaving, or made a member, their tokens in that organization are
revoked in the same transaction, with why in the audit log and on Settings → API tokens;
the API refuses a token whose creator is no longer an owner or admin even when nothing
revoked it; the members pages say beforehand how many tokens will stop."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts_saas.accounts.models import Membership, Role
from alerts_saas.audit.models import Entry
from alerts_saas.audit.words import describe
from alerts_saas.ingest.models import ApiToken, IngestKey, Scope
from tests.api_client import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org, add_member) -> Membership:
    return add_member(org, "admin@acme.example", Role.ADMIN)


@pytest.fixture
def admin_token(org, admin) -> tuple[ApiToken, str]:
    """A read-and-write token the admin made."""
    return ApiToken.issue(org, "ci", admin.user, scope=Scope.WRITE)


def members_page(org, suffix: str = "") -> str:
    return f"/o/{org.slug}/settings/members/{suffix}"


def text_of(markup: str) -> str:
    """Words as a person reads them: tags left out, spaces collapsed."""
    words = re.sub(r"\s*<[^>]+>\s*", " ", markup)
    return re.sub(r"\s+", " ", html.unescape(words)).replace(" .", ".").strip()


def text(response) -> str:
    return text_of(response.content.decode())


def revoked_entry(token: ApiToken) -> str:
    entry = Entry.objects.get(object_type="api_token", object_id=str(token.pk), action="revoked")
    return str(describe(entry))


def test_a_removed_admins_token_is_refused_and_creates_nothing(org, admin, admin_token, client):
    """The reviewer's case: the owner removes an admin; the admin's write token can no
    longer make an ingest key (it did: 201 and a new secret)."""
    token, secret = admin_token
    assert Api(secret).get("/alerts", status=200)  # it worked while they were an admin
    owner = org.memberships.get(role=Role.OWNER).user
    client.force_login(owner)
    assert client.post(members_page(org, f"{admin.pk}/remove/")).status_code == 302

    refused = Api(secret).post("/ingest-keys", {"name": "backdoor"}, status=401)
    assert refused["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    message = refused.json()["message"]
    assert message.startswith("This API token (“ci”) was revoked on ")
    assert "its creator was removed from the organization" in message
    assert "Ask one of them to create a new token under Settings → API tokens." in message
    assert not IngestKey.objects.exists()

    token.refresh_from_db()
    assert token.is_revoked and token.revoked_by == owner
    assert revoked_entry(token) == (
        "owner@acme.example revoked API token “ci”: "
        "reason: its creator was removed from the organization"
    )
    tokens_page = text(client.get(f"/o/{org.slug}/settings/api-tokens/"))
    assert "Revoked on " in tokens_page
    assert ": its creator was removed from the organization" in tokens_page


def test_an_admin_made_a_member_loses_their_tokens(org, admin, admin_token, client):
    token, secret = admin_token
    client.force_login(org.memberships.get(role=Role.OWNER).user)
    asked = client.post(members_page(org, f"{admin.pk}/role/"), {"role": Role.MEMBER})
    assert "Their API token “ci” stops working" in text(asked)  # asked first
    confirm = re.search(r'name="confirm" value="([^"]+)"', asked.content.decode()).group(1)
    client.post(members_page(org, f"{admin.pk}/role/"), {"role": Role.MEMBER, "confirm": confirm})
    admin.refresh_from_db()
    assert admin.role == Role.MEMBER

    message = Api(secret).post("/ingest-keys", {"name": "backdoor"}, status=401).json()["message"]
    assert "its creator is no longer an admin of the organization" in message
    assert not IngestKey.objects.exists()
    assert revoked_entry(token).endswith(
        "reason: its creator is no longer an admin of the organization"
    )


def test_an_admin_who_leaves_takes_their_tokens_with_them(org, admin, admin_token, client):
    token, secret = admin_token
    client.force_login(admin.user)
    assert client.post(f"/o/{org.slug}/settings/leave/").status_code == 302
    assert not Membership.objects.filter(pk=admin.pk).exists()

    message = Api(secret).get("/alerts", status=401).json()["message"]
    assert "its creator left the organization" in message
    assert revoked_entry(token) == (
        "admin@acme.example revoked API token “ci”: reason: its creator left the organization"
    )


def test_a_deleted_account_takes_its_tokens_with_it(org, admin, admin_token):
    token, secret = admin_token
    admin.user.delete()
    token.refresh_from_db()
    assert token.is_revoked and token.revoked_reason == "its creator's account was deleted"
    Api(secret).get("/alerts", status=401)


def test_a_still_admins_token_keeps_working(org, admin, admin_token, add_member, client):
    """Others leaving, or the admin made an owner, revokes nothing of theirs; nor does a
    change that leaves them an admin."""
    token, secret = admin_token
    other = add_member(org, "other@acme.example", Role.ADMIN)
    _other_token, other_secret = ApiToken.issue(org, "other", other.user, scope=Scope.WRITE)
    owner = org.memberships.get(role=Role.OWNER)
    client.force_login(owner.user)
    client.post(members_page(org, f"{other.pk}/remove/"))
    client.post(members_page(org, f"{admin.pk}/role/"), {"role": Role.OWNER})
    client.post(members_page(org, f"{admin.pk}/role/"), {"role": Role.ADMIN})

    made = Api(secret).post("/ingest-keys", {"name": "web servers"}, status=201)
    assert made.json()["name"] == "web servers"
    token.refresh_from_db()
    assert not token.is_revoked
    Api(other_secret).get("/alerts", status=401)


def test_the_api_refuses_a_token_whose_creator_lost_the_right_some_other_way(
    org, admin, admin_token, client
):
    """A role changed where nothing revoked the token (Django's admin, a script): the API
    still refuses it, and Settings → API tokens says it does not work."""
    token, secret = admin_token
    Membership.objects.filter(pk=admin.pk).update(role=Role.MEMBER)

    refused = Api(secret).post("/ingest-keys", {"name": "backdoor"}, status=401).json()
    assert refused["message"] == (
        "This API token (“ci”) no longer works: its creator is no longer an owner or admin "
        "of the organization. A token works only while the person who made it is an owner "
        "or admin of Acme Ops. Ask one of them to create a new token under Settings → API "
        "tokens."
    )
    assert not IngestKey.objects.exists()
    client.force_login(org.memberships.get(role=Role.OWNER).user)
    page = client.get(f"/o/{org.slug}/settings/api-tokens/").content.decode()
    row = text_of(page.split(f'id="api-token-{token.pk}"')[1].split("</tr>")[0])
    assert "Not working" in row and "Its creator is no longer an owner or admin" in row


def test_the_members_pages_say_how_many_tokens_stop(org, admin, add_member, client):
    """Before a removal, a demotion or leaving, the page says how many of the person's
    active tokens stop; counted in the page's own query, whatever the number of members."""
    ApiToken.issue(org, "ci", admin.user, scope=Scope.WRITE)
    ApiToken.issue(org, "terraform", admin.user, scope=Scope.READ)
    ApiToken.issue(org, "old", admin.user)[0].revoke(admin.user)
    owner = org.memberships.get(role=Role.OWNER)
    client.force_login(owner.user)

    page = client.get(members_page(org)).content.decode()
    row = text_of(page.split(f'id="member-{admin.pk}"')[1].split("</tr>")[0])
    assert "If they are removed or made a member: their 2 API tokens stop working." in row
    assert "API token" not in page.split(f'id="member-{owner.pk}"')[1].split("</tr>")[0]

    confirm = text(client.get(members_page(org, f"{admin.pk}/remove/")))
    assert "Their 2 API tokens stop working at once" in confirm

    client.force_login(admin.user)
    leave = text(client.get(f"/o/{org.slug}/settings/leave/"))
    assert "Your 2 API tokens stop working at once" in leave

    # No query per row: more members with tokens, the same number of queries.
    client.force_login(owner.user)
    client.get(members_page(org))  # the session, saved once after signing in
    with CaptureQueriesContext(connection) as few:
        client.get(members_page(org))
    for n in range(3):
        more = add_member(org, f"admin{n}@acme.example", Role.ADMIN)
        ApiToken.issue(org, f"tool {n}", more.user)
    with CaptureQueriesContext(connection) as many:
        page = text(client.get(members_page(org)))
    assert len(many.captured_queries) == len(few.captured_queries)
    assert page.count("their 1 API token stops working.") == 3


def test_leaving_one_organization_stops_only_the_tokens_made_in_it(
    org, admin, admin_token, make_org, client
):
    elsewhere = make_org("Globex", owner=admin.user)
    _token, globex = ApiToken.issue(elsewhere, "globex-ci", admin.user, scope=Scope.WRITE)
    client.force_login(admin.user)
    client.post(f"/o/{org.slug}/settings/leave/")
    Api(admin_token[1]).get("/alerts", status=401)
    Api(globex).get("/alerts", status=200)


def test_a_plain_client_sees_the_same(org, admin, admin_token):
    """Through a bare HTTP client too (no checking client): 401 JSON in words."""
    _token, secret = admin_token
    Membership.objects.filter(pk=admin.pk).delete()
    response = Client().get("/api/v1/alerts", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 401
    assert "no longer works" in response.json()["message"]


def test_tokens_that_already_outlived_their_creator_are_revoked_by_the_migration(
    org, admin, admin_token, add_member
):
    """Made before tokens followed their creator: the creator was since made a member, or
    their account deleted. The migration revokes those, with why, and leaves an admin's."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("alerts_saas.ingest.migrations.0008_api_token_revoked_reason")
    token, _secret = admin_token
    demoted = add_member(org, "was-admin@acme.example", Role.MEMBER)
    stale, _ = ApiToken.issue(org, "stale", demoted.user, scope=Scope.WRITE)
    orphan, _ = ApiToken.issue(org, "orphan", None, scope=Scope.WRITE)

    migration.revoke_orphans(apps, None)

    for made in (stale, orphan, token):
        made.refresh_from_db()
    assert stale.revoked_reason == "its creator is no longer an admin of the organization"
    assert orphan.revoked_reason == "its creator's account was deleted"
    assert not token.is_revoked
    assert revoked_entry(stale) == (
        "system revoked API token “stale”: "
        "reason: its creator is no longer an admin of the organization"
    )
