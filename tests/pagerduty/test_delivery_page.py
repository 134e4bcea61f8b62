"""A delivery's own page says when it was queued and delivered (in the reader's zone, and
how long ago), which alert and firing it was sent for, with links, and its attempts: how
many, and the last one's answer (the only one kept). It reads all that in the same queries
whatever the delivery belongs to."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts_saas.accounts.models import Role
from alerts_saas.alerts.models import Firing
from integrations.pagerduty.models import Delivery
from tests.dashboard.conftest import alert, delivery, service

pytestmark = pytest.mark.django_db

QUEUED = datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC)  # 15:30:00 in Kolkata (UTC+05:30)


def _text(page: str) -> str:
    """The page's words, with no space a tag made before a closing mark."""
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    return re.sub(r" ([),.])", r"\1", words.replace("( ", "("))


@pytest.fixture
def reader(org, admin_client):
    owner = org.memberships.get(role=Role.OWNER).user
    owner.time_zone = "Asia/Kolkata"
    owner.save(update_fields=["time_zone"])
    return admin_client


def _page(client, org, sent: Delivery, **headers: str) -> str:
    url = f"/o/{org.slug}/pagerduty/deliveries/{sent.pk}/"
    response = client.get(url, {"full": "1"} if headers else {}, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def test_a_delivered_trigger_says_when_what_for_and_its_attempts(org, reader):
    checkout = service(org, "Checkout API")
    errors = alert(org, "Checkout errors", checkout)
    firing = Firing.objects.create(
        organization=org,
        alert=errors,
        opened_at=datetime(2025, 3, 4, 9, 58, tzinfo=UTC),
        count_at_open=1,
    )
    sent = delivery(
        org,
        checkout,
        made=errors,
        firing=firing,
        at=QUEUED,
        attempts=2,
        response_status=202,
        response_message="Event processed",
        latency_ms=120,
        delivered_at=datetime(2025, 3, 4, 10, 0, 7, tzinfo=UTC),
    )

    page = _page(reader, org, sent)
    words = _text(page)
    assert re.search(r"Queued 4 Mar 2025, 15:30:00 \([^)]* ago\)", words), words
    assert re.search(r"Delivered 4 Mar 2025, 15:30:07 \([^)]* ago\)", words), words
    assert "Sent for Alert “Checkout errors”, its firing from 4 Mar 2025 15:28" in words
    assert f'href="/o/{org.slug}/alerts/{errors.pk}/"' in page
    assert f'href="/o/{org.slug}/alerts/{errors.pk}/firings/{firing.pk}/sent/"' in page
    assert (
        "Attempts 2 attempts; the last: PagerDuty answered HTTP 202 “Event processed” in"
        " 120 ms. Only the last answer is kept." in words
    )


def test_a_failed_delivery_says_its_last_answer_and_no_delivery_time(org, reader):
    checkout = service(org, "Checkout API")
    gone = delivery(
        org,
        checkout,
        status=Delivery.Status.FAILED,
        at=QUEUED,
        attempts=1,
        response_status=400,
        response_message="Event object is invalid",
        response_errors=["Invalid routing key"],
        last_error="Event object is invalid; Invalid routing key",
    )
    unanswered = delivery(
        org,
        checkout,
        status=Delivery.Status.QUEUED,
        at=QUEUED,
        attempts=3,
        last_error="Connection refused",
    )

    words = _text(_page(reader, org, gone))
    assert "Delivered" not in words
    assert "Sent for Its alert was deleted." in words
    assert (
        "Attempts 1 attempt: PagerDuty answered HTTP 400 “Event object is invalid”"
        " (Invalid routing key)." in words
    )
    assert "Only the last" not in words
    words = _text(_page(reader, org, unanswered))
    assert (
        "Attempts 3 attempts; the last got no answer: Connection refused."
        " Only the last answer is kept." in words
    )


def test_the_page_polls_with_its_facts_and_reads_them_in_the_same_queries(org, reader):
    checkout = service(org, "Checkout API")
    errors = alert(org, "Checkout errors", checkout)
    firing = Firing.objects.create(organization=org, alert=errors, count_at_open=1)
    pending = delivery(
        org, checkout, made=errors, firing=firing, status=Delivery.Status.QUEUED, at=QUEUED
    )
    test = delivery(org, checkout, is_test=True, status=Delivery.Status.QUEUED, at=QUEUED)

    page = _page(reader, org, pending)
    assert '"full": "1"' in page  # the panel it polls keeps the facts
    polled = _text(_page(reader, org, pending, HX_Request="true"))
    assert "Sent for Alert “Checkout errors”" in polled
    assert "Attempts Not tried yet." in polled
    assert "A test: no alert is tied to it." in _text(_page(reader, org, test))

    orphan = delivery(org, checkout, status=Delivery.Status.QUEUED, at=QUEUED)
    counts = []
    for sent in (pending, orphan):  # the alert and firing come with the delivery
        with CaptureQueriesContext(connection) as queries:
            _page(reader, org, sent)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_a_test_panel_elsewhere_stays_as_it_was(org, reader):
    checkout = service(org, "Checkout API")
    test = delivery(org, checkout, is_test=True, status=Delivery.Status.QUEUED, at=QUEUED)
    url = f"/o/{org.slug}/pagerduty/deliveries/{test.pk}/"
    panel = reader.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "delivery-facts" not in panel
