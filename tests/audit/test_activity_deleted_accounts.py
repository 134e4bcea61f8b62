"""Activity after someone deletes their account: each entry still says who acted (the email
it was written with), and the "Who" filter lists them, "(account deleted)", so an admin
looking into what they did picks them by name as for a member who left."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from alerts_saas.account_deletion.deletion import delete_account
from alerts_saas.accounts.models import Membership, Organization, Role
from alerts_saas.audit.models import Action, ActorKind, Entry

pytestmark = pytest.mark.django_db


def _entry(org: Organization, user_id: int, email: str, name: str) -> None:
    Entry.objects.create(
        organization=org,
        actor_kind=ActorKind.USER,
        actor_user_id=user_id,
        actor_label=email,
        object_type="alert",
        object_id="1",
        object_name=name,
        action=Action.CHANGED,
    )


def _who(page: str) -> list[tuple[str, str]]:
    found = re.search(r'<select name="who".*?</select>', page, re.S)
    assert found
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', found.group(0))


def test_a_deleted_account_is_named_and_can_be_picked(
    admin_client: Client,
    org: Organization,
    add_member: Callable[..., Membership],
    make_org: Callable[..., Organization],
) -> None:
    dana = add_member(org, "dana@acme.example", Role.ADMIN)
    _entry(org, dana.user_id, "dana@acme.example", "Checkout errors")
    _entry(org, org.memberships.get(role=Role.OWNER).user_id, "x", "Signup drop")
    elsewhere = make_org("Elsewhere")
    eve = add_member(elsewhere, "eve@other.example")
    _entry(elsewhere, eve.user_id, "eve@other.example", "Their alert")
    delete_account(dana.user, confirmed=(), shown_left=[org.pk])
    delete_account(eve.user, confirmed=(), shown_left=[elsewhere.pk])

    url = f"/o/{org.slug}/settings/activity/"
    page = admin_client.get(url).content.decode()
    assert "<strong>dana@acme.example</strong> changed" in page
    options = _who(page)
    assert ("deleted:dana@acme.example", "dana@acme.example (account deleted)") in options
    assert not any("eve@other.example" in label for _, label in options)  # not this log's

    picked = admin_client.get(url, {"who": "deleted:dana@acme.example"}).content.decode()
    assert "Checkout errors" in picked and "Signup drop" not in picked
