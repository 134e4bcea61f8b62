"""Activity's "Who" filter lists the people who left too: their entries stay in the log,
and an admin looking into what a departed member did picks them by name."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from alerts_saas.accounts.models import Membership, Organization, Role
from alerts_saas.audit.models import Action, ActorKind, Entry

pytestmark = pytest.mark.django_db


def _entry(org: Organization, user_id: int, email: str) -> None:
    Entry.objects.create(
        organization=org,
        actor_kind=ActorKind.USER,
        actor_user_id=user_id,
        actor_label=email,
        object_type="alert",
        object_id="1",
        object_name="Checkout errors",
        action=Action.CHANGED,
    )


def test_who_lists_former_members_labelled_left(
    admin_client: Client,
    org: Organization,
    add_member: Callable[..., Membership],
    make_org: Callable[..., Organization],
) -> None:
    dana = add_member(org, "dana@acme.example", Role.ADMIN)
    _entry(org, dana.user_id, dana.user.email)
    dana.delete()  # she left; her entries stay
    elsewhere = make_org("Elsewhere")
    stranger = add_member(elsewhere, "eve@other.example")
    _entry(elsewhere, stranger.user_id, stranger.user.email)  # another organization's log

    page = admin_client.get(f"/o/{org.slug}/settings/activity/").content.decode()
    who = re.search(r'<select name="who".*?</select>', page, re.S)
    assert who
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', who.group(0))
    assert (f"user:{dana.user_id}", "dana@acme.example (left)") in options
    assert not any("eve@other.example" in label for _, label in options)
    picked = admin_client.get(f"/o/{org.slug}/settings/activity/", {"who": f"user:{dana.user_id}"})
    assert "Checkout errors" in picked.content.decode()
