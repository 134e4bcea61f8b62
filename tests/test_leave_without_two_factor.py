"""Leaving an organization that asks for two-factor sign-in, without it: the page shows the
organization's name and the way out, none of its data (paging banner, navigation, whom to
ask), and leaving asks for the password again first."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from alerts_saas.accounts.models import Membership, Organization, Role, User
from alerts_saas.notices.models import PagingProblem
from tests.conftest import PASSWORD
from tests.two_factor import sign_in_with_app

pytestmark = pytest.mark.django_db

TITLE = "PagerDuty refuses the key of Checkout Payments"


@pytest.fixture
def org(make_org: Callable[..., Organization], make_user: Callable[..., User]) -> Organization:
    org = make_org("Acme", owner=make_user("olivia.owner@acme.example"))
    PagingProblem.objects.create(
        organization=org,
        key="refused:1",
        kind="refused",
        title=TITLE,
        fix_label="Replace the key",
        fix_url=f"/o/{org.slug}/integrations/",
    )
    Organization.objects.filter(pk=org.pk).update(require_two_factor=True)
    return org


def _leave(org: Organization) -> str:
    return f"/o/{org.slug}/settings/leave/"


def test_the_page_open_without_two_factor_shows_nothing_of_the_organization_but_its_name(
    org: Organization, add_member: Callable[..., Membership], client: Client
) -> None:
    member = add_member(org, "member@acme.example")
    client.force_login(member.user)
    page = client.get(_leave(org))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Leave Acme?" in text and "Leave Acme</button>" in text
    assert "paging-banner" not in text and TITLE not in text  # no paging banner
    assert "olivia.owner@acme.example" not in text  # no owner or admin to ask
    assert f"/o/{org.slug}/settings/members/" not in text  # no organization navigation
    assert f"/o/{org.slug}/alerts/" not in text
    assert "type your password again on the next page" in text


def test_leaving_without_two_factor_asks_for_the_password_then_leaves(
    org: Organization, add_member: Callable[..., Membership], client: Client
) -> None:
    admin = add_member(org, "admin@acme.example", Role.ADMIN)
    client.force_login(admin.user)
    asked = client.post(_leave(org))
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    assert Membership.objects.filter(pk=admin.pk).exists()  # not yet
    why = client.get(asked["Location"]).content.decode()
    assert "Before you leave the organization, type your password again." in why
    done = client.post(asked["Location"], {"password": PASSWORD})
    assert done["Location"] == "/"
    assert not Membership.objects.filter(pk=admin.pk).exists()


def test_a_member_with_two_factor_sees_the_usual_page_and_leaves_at_once(
    org: Organization, add_member: Callable[..., Membership], client: Client
) -> None:
    member = add_member(org, "member@acme.example")
    sign_in_with_app(client, member.user)  # the password and the app's code
    text = client.get(_leave(org)).content.decode()
    assert TITLE in text  # the banner, as on every page of the organization
    assert f"/o/{org.slug}/settings/members/" in text
    assert "type your password again" not in text
    assert client.post(_leave(org))["Location"] == "/"
    assert not Membership.objects.filter(pk=member.pk).exists()
