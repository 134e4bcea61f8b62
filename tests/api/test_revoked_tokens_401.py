"""A revoked API token is an authentication failure whoever revoked it: revoked by hand on
Settings → API tokens, or because its creator was removed from the organization, it is 401
(`WWW-Authenticate: Bearer error="invalid_token"`), with words saying it was revoked and
where a new one is made, as the page that revoked it says; both answers agree with the
served OpenAPI document (`Api`)."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts_saas.accounts.models import Role
from alerts_saas.ingest.models import ApiToken, Scope
from tests.api_client import Api

pytestmark = pytest.mark.django_db

INVALID = 'Bearer error="invalid_token"'


def _owner_client(org) -> Client:
    client = Client()
    client.force_login(org.memberships.get(role=Role.OWNER).user)
    return client


def test_a_token_revoked_by_hand_is_401_and_says_what_to_do(org) -> None:
    token, secret = ApiToken.issue(org, "ci", scope=Scope.WRITE)
    Api(secret).get("/alerts", status=200)
    owner = _owner_client(org)
    revoked = owner.post(f"/o/{org.slug}/settings/api-tokens/{token.pk}/revoke/", follow=True)
    # The page says the answer tools now get: the one they get.
    assert "Requests made with it now get 401 Unauthorized." in revoked.content.decode()

    for refused in (
        Api(secret).get("/alerts", status=401),
        Api(secret).post("/ingest-keys", {"name": "again"}, status=401),
    ):
        assert refused["WWW-Authenticate"] == INVALID
        message = refused.json()["message"]
        assert message.startswith("This API token (“ci”) was revoked on ")
        assert message.endswith("UTC. Create a new one under Settings → API tokens.")


def test_a_token_revoked_with_its_creators_departure_is_401_too(org, add_member) -> None:
    admin = add_member(org, "admin@acme.example", Role.ADMIN)
    _token, secret = ApiToken.issue(org, "ci", admin.user, scope=Scope.WRITE)
    owner = _owner_client(org)
    assert owner.post(f"/o/{org.slug}/settings/members/{admin.pk}/remove/").status_code == 302

    refused = Api(secret).get("/alerts", status=401)
    assert refused["WWW-Authenticate"] == INVALID
    message = refused.json()["message"]
    assert message.startswith("This API token (“ci”) was revoked on ")
    assert message.endswith("create a new token under Settings → API tokens.")
