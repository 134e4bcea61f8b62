"""Ingest keys and API tokens: made and revoked by a person, and a token as the actor of
the changes it makes; never a secret in an entry."""

from __future__ import annotations

import re

import pytest

from alerts_saas.alerts.models import Alert
from alerts_saas.audit.context import act_as_token, acting
from alerts_saas.audit.models import Action
from alerts_saas.ingest.models import ApiToken, IngestKey
from tests.audit.conftest import assert_no_secrets, only, words

pytestmark = pytest.mark.django_db


def test_ingest_keys_created_and_revoked(owner_client, org):
    response = owner_client.post(f"/o/{org.slug}/settings/ingest-keys/create/", {"name": "web"})
    assert response.status_code == 200
    secret = re.search(r"twk_[\w-]+", response.content.decode()).group(0)
    key = IngestKey.objects.get(organization=org)
    assert words(only(org, action=Action.CREATED)) == "owner@acme.example created ingest key “web”"

    response = owner_client.post(f"/o/{org.slug}/settings/ingest-keys/{key.pk}/revoke/")
    assert response.status_code == 302
    revoked = only(org, action=Action.REVOKED)
    assert words(revoked) == "owner@acme.example revoked ingest key “web”"
    assert_no_secrets(org, [secret, key.key_hash])


def test_an_api_token_is_the_actor_of_its_changes(org):
    owner = org.memberships.get().user
    with acting(user=owner):
        token, secret = ApiToken.issue(org, "deploys", owner, scope="write")
    made = only(org, object_type="api_token", action=Action.CREATED)
    assert words(made) == "owner@acme.example created API token “deploys”: scope: Read and write"

    with acting() as ctx:
        act_as_token(token)
        assert ctx.token is token
        Alert.objects.create(organization=org, name="From Terraform", match_app="tf")
    entry = only(org, object_type="alert")
    assert (entry.actor_kind, entry.actor_token_id) == ("token", token.pk)
    assert words(entry) == "API token “deploys” created alert “From Terraform”"

    with acting(user=owner):
        token.revoke(owner)
    assert words(only(org, object_type="api_token", action=Action.REVOKED)) == (
        "owner@acme.example revoked API token “deploys”"
    )
    assert_no_secrets(org, [secret, token.key_hash])
