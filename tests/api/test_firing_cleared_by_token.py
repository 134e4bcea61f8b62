"""Who resolved a firing in Tripwire, when an API token did: the firing itself names the token
(`Firing.cleared_by_token`, the API's `cleared_by_token`), and its resolves are written
naming it (`Delivery.created_by_token` in their INSERT: no later UPDATE of the deliveries).
A person's resolve still names the person, and no token."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts_saas.alerts.models import Firing
from alerts_saas.ingest.models import ApiToken, Scope
from integrations.pagerduty.models import Delivery, Reason
from tests.alerts.conftest import resolves_of
from tests.alerts.test_stop_watching import _per_host, _quiet
from tests.api.test_firing_actions import _waiting
from tests.api_client import Api

pytestmark = pytest.mark.django_db

DELIVERIES = Delivery._meta.db_table
backfill = importlib.import_module("alerts_saas.alerts.migrations.0009_firing_cleared_by_token")


def _updates_of_deliveries(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("UPDATE") and DELIVERIES in q["sql"]
    ]


def test_a_tokens_resolve_names_the_token_from_the_insert_and_on_the_firing(
    org, service, other_service
) -> None:
    _, firing = _waiting(org, service, other_service)
    token, secret = ApiToken.issue(org, "deploy-bot", scope=Scope.WRITE)
    api = Api(secret)

    with CaptureQueriesContext(connection) as queries:
        answer = api.post(f"/firings/{firing.pk}/resolve", status=200).json()

    assert _updates_of_deliveries(queries) == []  # named as they were written
    resolves = resolves_of(firing)
    assert len(resolves) == 2
    assert {(r.reason, r.created_by_id, r.created_by_token_id) for r in resolves} == {
        (Reason.BY_HAND, None, token.pk)
    }
    firing.refresh_from_db()
    assert (firing.cleared_by_id, firing.cleared_by_token_id) == (None, token.pk)
    assert (answer["cleared_by"], answer["cleared_by_token"]) == (None, "deploy-bot")
    assert api.get(f"/firings/{firing.pk}", status=200).json() == answer
    [listed] = api.get(f"/firings?alert_id={firing.alert_id}", status=200).json()["items"]
    assert listed["cleared_by_token"] == "deploy-bot"


def test_a_tokens_stop_watching_names_the_token_on_the_firing_it_resolved(org, service) -> None:
    alert = _per_host(org, service)
    _quiet(org, alert, "web-1", "web-2")
    token, secret = ApiToken.issue(org, "decommission", scope=Scope.WRITE)

    with CaptureQueriesContext(connection) as queries:
        answer = (
            Api(secret)
            .post(f"/alerts/{alert.pk}/stop-watching", {"value": "web-1"}, status=200)
            .json()
        )

    assert _updates_of_deliveries(queries) == []
    assert answer["resolved"]["cleared_by_token"] == "decommission"
    gone = alert.firings.get(group="web-1")
    assert gone.cleared_by_token_id == token.pk
    [resolve] = resolves_of(gone)
    assert resolve.created_by_token_id == token.pk
    still = alert.firings.get(group="web-2")
    assert still.is_open and still.cleared_by_token_id is None


def test_a_persons_resolve_names_the_person_and_no_token(org, service, api) -> None:
    alert, firing = _waiting(org, service)
    owner = org.memberships.get().user
    client = Client()
    client.force_login(owner)

    url = reverse("alerts:resolve", args=[org.slug, alert.pk])
    assert client.post(url, {"firing": firing.pk}).status_code == 302

    answer = api.get(f"/firings/{firing.pk}", status=200).json()
    assert (answer["clear_reason"], answer["cleared_by"]) == ("resolved", owner.email)
    assert answer["cleared_by_token"] is None
    [resolve] = resolves_of(firing)
    assert (resolve.created_by_id, resolve.created_by_token_id) == (owner.pk, None)


def test_a_deleted_token_leaves_the_firing_resolved_by_no_one_known(org, service) -> None:
    _, firing = _waiting(org, service)
    token, secret = ApiToken.issue(org, "deploy-bot", scope=Scope.WRITE)
    Api(secret).post(f"/firings/{firing.pk}/resolve", status=200)
    token.delete()

    firing.refresh_from_db()
    assert (firing.clear_reason, firing.cleared_by_token_id) == ("resolved", None)
    _, reader = ApiToken.issue(org, "reader", scope=Scope.READ)
    answer = Api(reader).get(f"/firings/{firing.pk}", status=200).json()
    assert (answer["cleared_by"], answer["cleared_by_token"]) == (None, None)


def test_listing_firings_resolved_by_tokens_reads_the_tokens_in_the_same_query(
    org, service, api
) -> None:
    """One query for the page however many tokens resolved its firings: none per row."""
    alert, _ = _waiting(org, service)

    def resolved_by(*names: str) -> int:
        """Firings resolved by these new tokens; then how many queries listing them takes."""
        for name in names:
            token, _ = ApiToken.issue(org, name, scope=Scope.WRITE)
            Firing.objects.create(
                organization=org,
                alert=alert,
                count_at_open=3,
                cleared_at=timezone.now(),
                clear_reason=Firing.ClearReason.RESOLVED,
                cleared_by_token=token,
            )
        with CaptureQueriesContext(connection) as queries:
            api.get("/firings?open=false", status=200)
        return len(queries.captured_queries)

    api.get("/firings", status=200)  # the token's first use notes it (once)
    assert resolved_by("a", "b", "c", "d") == resolved_by("e")
    items = api.get("/firings?open=false", status=200).json()["items"]
    assert sorted(i["cleared_by_token"] for i in items) == ["a", "b", "c", "d", "e"]


def test_the_migration_names_the_token_on_firings_it_resolved_before(
    org, make_org, service
) -> None:
    """Firings a token resolved before the field existed get the token their resolves
    name; a person's (another organization's) stays as it is."""
    _, by_token = _waiting(org, service)
    token, secret = ApiToken.issue(org, "deploy-bot", scope=Scope.WRITE)
    Api(secret).post(f"/firings/{by_token.pk}/resolve", status=200)
    Firing.objects.filter(pk=by_token.pk).update(cleared_by_token=None)  # as before the field
    other = make_org("Globex")
    _, by_person = _waiting(other)
    owner = other.memberships.get().user
    client = Client()
    client.force_login(owner)
    url = reverse("alerts:resolve", args=[other.slug, by_person.alert_id])
    assert client.post(url, {"firing": by_person.pk}).status_code == 302

    backfill.name_tokens(apps, None)

    by_token.refresh_from_db()
    by_person.refresh_from_db()
    assert by_token.cleared_by_token_id == token.pk
    assert (by_person.clear_reason, by_person.cleared_by_id) == ("resolved", owner.pk)
    assert by_person.cleared_by_token_id is None
