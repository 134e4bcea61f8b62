"""A removed admin's ingest keys keep working, by design (they belong to the organization's
systems: revoking them would stop events and could set off absence alerts), and the removal
and leave pages now say so, naming the keys, in one query however many there are."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts_saas.accounts.models import Membership, Organization, Role
from alerts_saas.ingest.models import ApiToken, IngestKey, Scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(make_org) -> Organization:
    return make_org("Acme")


@pytest.fixture
def olivia(org: Organization, add_member) -> Membership:
    membership = add_member(org, "olivia@acme.example", Role.ADMIN)
    membership.user.first_name = "Olivia"
    membership.user.save(update_fields=["first_name"])
    return membership


@pytest.fixture
def owner(org: Organization) -> Client:
    client = Client()
    client.force_login(org.memberships.get(role=Role.OWNER).user)
    return client


def _said(page: str, element_id: str) -> str:
    found = re.search(rf'<p id="{element_id}">(.*?)</p>', page, re.S)
    assert found, page
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).split())


def _removal(owner: Client, org: Organization, olivia: Membership) -> str:
    response = owner.get(f"/o/{org.slug}/settings/members/{olivia.pk}/remove/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_removal_page_names_the_keys_that_keep_working(org, olivia, owner) -> None:
    person = olivia.user
    IngestKey.issue(org, "web servers", person)
    IngestKey.issue(org, "ci", person)
    IngestKey.issue(org, "old", person)[0].revoke(person)  # revoked: not listed
    IngestKey.issue(org, "theirs", org.memberships.get(role=Role.OWNER).user)
    token, _ = ApiToken.issue(org, "deploy", person, scope=Scope.WRITE)
    IngestKey.issue(org, "edge", created_by_token=token)  # made with her token
    page = _removal(owner, org, olivia)
    assert _said(page, "remove-ingest-keys") == (
        "Ingest keys Olivia created keep working, since systems send with them: “ci”, "
        "“edge” and “web servers”. Olivia has seen their secrets; to stop them, create new "
        "keys and revoke these under Settings → Ingest keys."
    )
    assert f'<a href="/o/{org.slug}/settings/ingest-keys/">Settings → Ingest keys</a>' in page


def test_one_key_is_said_as_one(org, olivia, owner) -> None:
    IngestKey.issue(org, "web servers", olivia.user)
    assert _said(_removal(owner, org, olivia), "remove-ingest-keys") == (
        "The ingest key Olivia created keeps working, since systems send with it: "
        "“web servers”. Olivia has seen its secret; to stop it, create a new key and "
        "revoke this one under Settings → Ingest keys."
    )


def test_none_is_not_mentioned(org, olivia, owner) -> None:
    assert 'id="remove-ingest-keys"' not in _removal(owner, org, olivia)


def test_the_removal_page_reads_the_keys_in_the_same_queries_however_many(
    org, olivia, owner
) -> None:
    IngestKey.issue(org, "key 0", olivia.user)
    _removal(owner, org, olivia)  # what a first request reads once (the session's) is read
    with CaptureQueriesContext(connection) as one:
        _removal(owner, org, olivia)
    for n in range(1, 8):
        IngestKey.issue(org, f"key {n}", olivia.user)
    with CaptureQueriesContext(connection) as eight:
        page = _removal(owner, org, olivia)
    assert "“key 7”" in page
    assert len(eight) == len(one), [q["sql"] for q in eight.captured_queries]


def test_the_leave_page_says_it_too(org, olivia) -> None:
    IngestKey.issue(org, "web servers", olivia.user)
    IngestKey.issue(org, "ci", olivia.user)
    client = Client()
    client.force_login(olivia.user)
    page = client.get(f"/o/{org.slug}/settings/leave/").content.decode()
    assert _said(page, "leave-ingest-keys") == (
        "Ingest keys you created keep working, since systems send with them: “ci” and "
        "“web servers”. You have seen their secrets; to stop them, create new keys and "
        "revoke these under Settings → Ingest keys before you leave."
    )
    olivia.role = Role.MEMBER
    olivia.save(update_fields=["role"])
    page = client.get(f"/o/{org.slug}/settings/leave/").content.decode()
    assert "to stop them, an admin can create new keys and revoke these under Settings" in (
        _said(page, "leave-ingest-keys")
    )


def test_the_leave_page_open_without_two_factor_names_no_key(org, olivia) -> None:
    """The page then shows nothing of the organization but its name: that keys stay
    working, not what they are called."""
    Organization.objects.filter(pk=org.pk).update(require_two_factor=True)
    IngestKey.issue(org, "web servers", olivia.user)
    client = Client()
    client.force_login(olivia.user)
    page = client.get(f"/o/{org.slug}/settings/leave/").content.decode()
    assert _said(page, "leave-ingest-keys").startswith(
        "The ingest key you created keeps working, since systems send with it. You have seen"
    )
    assert "web servers" not in page
