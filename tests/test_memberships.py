"""Roles: who may change whom, and the last owner stays."""

from __future__ import annotations

import pytest

from alerts_saas.accounts.models import Membership, Role
from alerts_saas.accounts.services import MembershipError, change_role, remove_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(make_org, make_user):
    return make_org("Acme", owner=make_user("owner@acme.example"))


def owner_of(org) -> Membership:
    return org.memberships.get(role=Role.OWNER)


def test_the_last_owner_cannot_be_demoted(org) -> None:
    owner = owner_of(org)
    with pytest.raises(MembershipError, match="last owner"):
        change_role(owner, owner, Role.ADMIN)
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_the_last_owner_cannot_be_removed_or_leave(org, add_member) -> None:
    owner = owner_of(org)
    admin = add_member(org, "admin@acme.example", Role.ADMIN)
    with pytest.raises(MembershipError, match="last owner"):
        remove_member(owner, owner)
    with pytest.raises(MembershipError):
        remove_member(admin, owner)
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_with_a_second_owner_the_first_can_step_down(org, add_member) -> None:
    owner = owner_of(org)
    add_member(org, "second@acme.example", Role.OWNER)
    change_role(owner, owner, Role.MEMBER)
    owner.refresh_from_db()
    assert owner.role == Role.MEMBER
    assert org.memberships.filter(role=Role.OWNER).count() == 1


def test_admins_cannot_grant_or_touch_the_owner_role(org, add_member) -> None:
    admin = add_member(org, "admin@acme.example", Role.ADMIN)
    member = add_member(org, "member@acme.example")
    with pytest.raises(MembershipError, match="Only an owner"):
        change_role(admin, member, Role.OWNER)
    with pytest.raises(MembershipError, match="Only an owner"):
        change_role(admin, owner_of(org), Role.MEMBER)
    change_role(admin, member, Role.ADMIN)
    member.refresh_from_db()
    assert member.role == Role.ADMIN


def test_members_page_refuses_demoting_the_last_owner_in_words(org, client) -> None:
    owner = owner_of(org)
    client.force_login(owner.user)
    response = client.post(
        f"/o/{org.slug}/settings/members/{owner.pk}/role/", {"role": "member"}, follow=True
    )
    assert "is the last owner of Acme" in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_removing_the_last_owner_through_the_page_is_refused(org, add_member, client) -> None:
    owner = owner_of(org)
    admin = add_member(org, "admin@acme.example", Role.ADMIN)
    client.force_login(admin.user)
    response = client.post(f"/o/{org.slug}/settings/members/{owner.pk}/remove/", follow=True)
    assert "Only an owner can grant, change or remove the owner role." in response.content.decode()
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_a_member_gets_403_on_admin_actions(org, add_member, client) -> None:
    member = add_member(org, "member@acme.example")
    other = add_member(org, "other@acme.example")
    client.force_login(member.user)
    base = f"/o/{org.slug}/settings"
    assert client.post(f"{base}/members/invite/", {"email": "x@y.example"}).status_code == 403
    assert client.post(f"{base}/members/{other.pk}/role/", {"role": "admin"}).status_code == 403
    assert client.post(f"{base}/members/{other.pk}/remove/").status_code == 403
    assert client.post(f"{base}/", {"name": "Renamed", "slug": "renamed"}).status_code == 403
    other.refresh_from_db()
    org.refresh_from_db()
    assert other.role == Role.MEMBER and org.name == "Acme"
    assert client.get(f"{base}/members/").status_code == 200


def test_a_member_can_leave(org, add_member, client) -> None:
    member = add_member(org, "member@acme.example")
    client.force_login(member.user)
    assert client.get(f"/o/{org.slug}/settings/leave/").status_code == 200
    response = client.post(f"/o/{org.slug}/settings/leave/")
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_a_user_switches_between_organizations(make_org, make_user, client) -> None:
    user = make_user("both@example.com")
    first = make_org("First", owner=user)
    second = make_org("Second", owner=user)
    client.force_login(user)
    page = client.get(f"/o/{first.slug}/").content.decode()
    assert f'href="/o/{second.slug}/"' in page  # the switcher lists both
    client.get(f"/o/{second.slug}/")
    assert client.get("/")["Location"] == f"/o/{second.slug}/"  # home remembers the last one


def test_organization_form_errors_are_shown_and_nothing_is_saved(make_user, client) -> None:
    client.force_login(make_user("new@example.com"))
    response = client.post("/orgs/new/", {"name": "", "slug": "Not A Slug!"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in body
    assert (
        "Use only lowercase letters, digits and hyphens (e.g. acme-ops); this has a space, “!”."
        in body
    )
    assert not Membership.objects.exists()


def test_pages_of_the_same_organization_leave_the_session_alone(make_org, make_user, client):
    """The organization a person is in is saved when it changes, not on every page and poll
    (each save was an UPDATE of the session in a transaction of its own)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = make_user("both@example.com")
    first = make_org("First", owner=user)
    second = make_org("Second", owner=user)
    client.force_login(user)
    client.get(f"/o/{first.slug}/")

    def session_writes(path: str) -> int:
        with CaptureQueriesContext(connection) as seen:
            assert client.get(path).status_code == 200
        return sum('UPDATE "django_session"' in q["sql"] for q in seen.captured_queries)

    assert session_writes(f"/o/{first.slug}/") == 0
    assert session_writes(f"/o/{first.slug}/alerts/") == 0
    assert session_writes(f"/o/{second.slug}/") == 1  # switching is remembered
    assert client.get("/")["Location"] == f"/o/{second.slug}/"
