"""A webhook receiver's path that no subscription's token can be (a NUL, a dot, too long) is
answered as an unknown token is, 401 with the same words, without asking the database: a
NUL in a query is an error to PostgreSQL, and was a 500 with a traceback per request."""

from __future__ import annotations

import logging
import secrets

import pytest
from django.test import Client
from django.utils import timezone

from integrations.pagerduty.incidents.models import IncidentActivity
from tests.incidents.conftest import incident_event, make_tenant

pytestmark = pytest.mark.django_db


def new_token() -> str:
    """A token as subscriptions are given one (models.new_token)."""
    return secrets.token_urlsafe(32)


UNKNOWN = "/integrations/pagerduty/webhooks/" + new_token()


def _post(path: str) -> tuple[int, dict[str, str]]:
    response = Client(raise_request_exception=False).post(
        path, b"{}", content_type="application/json"
    )
    return response.status_code, response.json()


@pytest.mark.parametrize(
    "segment",
    ["a%00b", "%00", "tok.en", "t%C3%B6ken", "x" * 65, "tok%20en"],
    ids=["nul", "only-nul", "dot", "non-ascii", "too-long", "space"],
)
def test_a_token_of_no_possible_shape_is_answered_as_an_unknown_one(
    segment: str, django_assert_num_queries, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    with django_assert_num_queries(0):
        answer = _post(f"/integrations/pagerduty/webhooks/{segment}")
    assert answer == _post(UNKNOWN)
    assert answer[0] == 401
    assert answer[1] == {"message": "The signature does not match this subscription."}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_token_the_product_makes_is_still_received(make_org, post_webhook) -> None:
    """Guard: the shape takes the tokens subscriptions are given."""
    service, subscription, trigger = make_tenant(make_org("Acme Ops"))
    subscription.token = new_token()
    subscription.save(update_fields=["token"])
    event = incident_event(
        "incident.acknowledged",
        incident_id="PINC1",
        key=trigger.dedup_key,
        service=service,
        status="acknowledged",
        at=timezone.now(),
    )
    assert post_webhook(subscription, event).status_code == 202
    assert IncidentActivity.objects.count() == 1
