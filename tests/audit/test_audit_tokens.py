"""Ingest keys and API tokens: made and revoked by a person, and a token as the actor of
the changes it makes; never a secret in an entry."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from alerts_saas.alerts.models import Alert
from alerts_saas.audit import query
from alerts_saas.audit.context import act_as_token, acting
from alerts_saas.audit.models import Action, Entry
from alerts_saas.ingest.models import ApiToken, IngestKey
from integrations.pagerduty.models import PagerDutyService
from tests.api_client import Api
from tests.audit.conftest import assert_no_secrets, only, words

pytestmark = pytest.mark.django_db


def test_ingest_keys_created_and_revoked(owner_client, org):
    made = owner_client.post(f"/o/{org.slug}/settings/ingest-keys/create/", {"name": "web"})
    assert made.status_code == 302
    response = owner_client.get(made["Location"])
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


def test_an_api_request_acts_as_the_token_its_authentication_found(org, rf):
    owner = org.memberships.get().user
    token, _secret = ApiToken.issue(org, "terraform", owner, scope="write")
    request = rf.post("/api/v1/alerts", REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT="terraform/1.9")
    request.auth = token  # as django-ninja's HttpBearer leaves it
    with acting(request=request):
        Alert.objects.create(organization=org, name="Managed", match_app="tf")
    entry = only(org, object_type="alert")
    assert (entry.actor_kind, entry.actor_token_id, entry.actor_user) == ("token", token.pk, None)
    assert (entry.ip, entry.user_agent) == ("192.0.2.10", "terraform/1.9")
    assert words(entry) == "API token “terraform” created alert “Managed”"


def test_changes_through_the_management_api_are_the_tokens(org):
    owner = org.memberships.get().user
    token, secret = ApiToken.issue(org, "terraform", owner, scope="write")
    service = PagerDutyService.objects.create(
        organization=org, name="Checkout", region="us", integration_key="c" * 32
    )
    Entry.objects.all().delete()
    api = Api(secret)
    body = {
        "name": "Checkout errors",
        "condition": {"kind": "presence", "threshold": 5, "window_minutes": 10},
        "match": {"app": "checkout"},
        "targets": [service.pk],
    }
    alert_id = api.post("/alerts", body, status=201).json()["id"]
    api.patch(f"/alerts/{alert_id}", {"condition": {"threshold": 2}}, status=200)
    api.post(f"/alerts/{alert_id}/disable", status=200)
    api.delete(f"/alerts/{alert_id}", status=204)
    rows = Entry.objects.filter(organization=org).order_by("pk")
    assert {(e.actor_kind, e.actor_token_id) for e in rows} == {("token", token.pk)}
    assert [words(e) for e in rows] == [
        "API token “terraform” created alert “Checkout errors”: PagerDuty services: added Checkout",
        "API token “terraform” changed alert “Checkout errors”: threshold 5 → 2",
        "API token “terraform” disabled alert “Checkout errors”",
        "API token “terraform” deleted alert “Checkout errors”",
    ]
    assert_no_secrets(org, [secret, "c" * 32])

    # The Activity page offers the token under "Who", and shows only its changes.
    client = Client()
    client.force_login(owner)
    page = client.get(f"/o/{org.slug}/settings/activity/", {"who": f"token:{token.pk}"})
    text = page.content.decode()
    assert f'<option value="token:{token.pk}" selected>API token “terraform”</option>' in text
    assert text.count('data-kind="alert"') == 4
    assert query.entries(org, query.Filters(who=f"token:{token.pk}")).count() == 4
