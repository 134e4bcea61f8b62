"""POST /api/v1/changes: bad input refused in words (the valid part of a batch kept), the
changes queued to the services the organization's enabled alerts page, and every answer
matching the served OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.test import Client
from django.utils import timezone
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate

from alerts_saas.alerts.models import Alert
from alerts_saas.ingest.models import ChangeEvent, IngestKey
from alerts_saas.ingest.retention import prune_changes
from integrations.pagerduty.models import Delivery, PagerDutyService

pytestmark = pytest.mark.django_db

PATH = "/api/v1/changes"
DEPLOY = {
    "payload": {
        "summary": "Deployed checkout v2.14.0",
        "source": "ci",
        "custom_details": {"version": "2.14.0"},
    },
    "links": [{"href": "https://ci.example.com/builds/220", "text": "Build 220"}],
}


@pytest.fixture(scope="module")
def spec() -> OpenAPI:
    """The served document, checked once per module: validating it takes a second or two."""
    document = Client().get("/api/v1/openapi.json").json()
    validate(document)
    assert "post" in document["paths"][PATH]
    return OpenAPI.from_dict(document)


@pytest.fixture
def send(spec, ingest_secret):
    """POST a body (checked against the document when it is JSON) and check the answer
    against the document; the answer."""

    def post(body, status: int, secret: str | None = None):
        data = body if isinstance(body, bytes) else orjson.dumps(body)
        headers = {"Authorization": f"Bearer {secret or ingest_secret}"} if secret != "" else {}
        response = Client(raise_request_exception=False).post(
            PATH,
            data=data,
            content_type="application/json",
            **({"HTTP_AUTHORIZATION": headers["Authorization"]} if headers else {}),
        )
        assert response.status_code == status, response.content[:500]
        request = MockRequest("http://testserver", "post", PATH, headers=headers, data=data)
        if status == 202 and not response.json()["rejected"]:
            spec.validate_request(request)
        spec.validate_response(
            request,
            MockResponse(
                response.content,
                status_code=response.status_code,
                content_type=response["Content-Type"].split(";")[0],
            ),
        )
        return response.json()

    return post


@pytest.fixture
def services(org) -> tuple[PagerDutyService, PagerDutyService]:
    """Checkout is paged by an enabled alert; Billing only by a disabled one."""
    checkout = PagerDutyService.objects.create(
        organization=org, name="Checkout", integration_key="a" * 32
    )
    billing = PagerDutyService.objects.create(
        organization=org, name="Billing", integration_key="b" * 32
    )
    for name, service, enabled in (
        ("Checkout errors", checkout, True),
        ("Checkout latency", checkout, True),
        ("Billing errors", billing, False),
    ):
        alert = Alert.objects.create(organization=org, name=name, match_app="x", enabled=enabled)
        alert.targets.add(service)
    return checkout, billing


def test_a_change_is_kept_and_queued_to_the_services_enabled_alerts_page(
    send, org, services, django_capture_on_commit_callbacks
):
    checkout, _ = services
    with django_capture_on_commit_callbacks():
        answer = send(DEPLOY, 202)
    assert answer["accepted"] == 1 and answer["services"] == ["Checkout"]
    assert answer["message"] == "1 change kept, and sent to PagerDuty: Checkout."
    [change] = ChangeEvent.objects.filter(organization=org)
    assert change.summary == "Deployed checkout v2.14.0" and change.source == "ci"
    [delivery] = Delivery.objects.filter(organization=org)
    assert delivery.service == checkout and delivery.event_action == "change"
    assert delivery.body == {
        "payload": {
            "summary": "Deployed checkout v2.14.0",
            "timestamp": change.timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "source": "ci",
            "custom_details": {"version": "2.14.0"},
        },
        "links": [{"href": "https://ci.example.com/builds/220", "text": "Build 220"}],
    }


def test_bad_changes_are_refused_in_words_and_the_good_ones_kept(send, org, services):
    ahead = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    batch = [
        {"payload": {"source": "ci"}},
        DEPLOY,
        {"payload": {"summary": "x", "timestamp": ahead}},
        {"payload": {"summary": "x"}, "links": [{"href": "javascript:alert(1)"}]},
        "deployed",
        {"payload": {"summary": "   "}},
        {"payload": {"summary": "x" * 1025}},
    ]
    answer = send(batch, 202)
    assert (answer["accepted"], answer["rejected"]) == (1, 6)
    assert [(e["index"], e["field"], e["message"]) for e in answer["errors"]] == [
        (0, "payload.summary", "“payload.summary” is missing."),
        (
            2,
            "payload.timestamp",
            f"{ahead} is 59 minutes ahead of our clock; at most 5 minutes is accepted. "
            "Is the sender's clock right?",
        ),
        (3, "links.0.href", "“links.0.href” is not an http or https address."),
        (4, None, "A change is an object with a “payload” (and its “summary”)."),
        (5, "payload.summary", "“payload.summary” is blank."),
        (
            6,
            "payload.summary",
            "“payload.summary”: String should have at most 1024 characters.",
        ),
    ]
    assert answer["message"] == (
        "1 change kept, 6 refused (see errors), and sent to PagerDuty: Checkout."
    )
    assert ChangeEvent.objects.filter(organization=org).count() == 1


def test_a_body_with_no_good_change_is_400_and_keeps_nothing(send, org, services):
    answer = send({"payload": {}}, 400)
    assert answer["message"] == "No change was kept, 1 refused (see errors)."
    assert send(b"{not json", 400)["message"].startswith("The body is not valid JSON")
    assert send([], 400)["message"] == "The array is empty: send at least one change."
    too_many = send([DEPLOY] * 101, 413)["message"]
    assert too_many == "Send at most 100 changes at a time; this body has 101."
    assert not ChangeEvent.objects.exists() and not Delivery.objects.exists()


def test_keys_are_checked_like_the_events_endpoint(send, org):
    assert "Authorization: Bearer" in send(DEPLOY, 401, secret="")["message"]
    assert "not valid" in send(DEPLOY, 401, secret="twk_nope")["message"]
    key, secret = IngestKey.issue(org, "ci")
    key.revoke(None)
    assert "was revoked" in send(DEPLOY, 403, secret=secret)["message"]
    assert not ChangeEvent.objects.exists()


def test_with_no_alert_paging_a_service_the_change_is_kept_and_says_so(send, org):
    answer = send(DEPLOY, 202)
    assert answer["services"] == []
    assert (
        "went to no PagerDuty service: none of your enabled alerts pages one" in (answer["message"])
    )
    assert ChangeEvent.objects.filter(organization=org).count() == 1


def test_other_methods_are_405_in_words():
    response = Client().get(PATH)
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert response.json()["message"] == "Send changes with POST; see /api/v1/docs."


def test_the_keys_page_says_which_services_changes_go_to(admin_client, org, services):
    page = admin_client.get(f"/o/{org.slug}/settings/ingest-keys/").content.decode()
    assert "POST /api/v1/changes" in page
    assert (
        "every PagerDuty service one of your enabled alerts pages:\n  <strong>Checkout</strong>."
        in page
    )
    Alert.objects.filter(organization=org).update(enabled=False)
    page = admin_client.get(f"/o/{org.slug}/settings/ingest-keys/").content.decode()
    assert "<strong>none at the moment</strong> (no enabled alert pages a service)" in page


def test_changes_past_retention_are_pruned(org, settings):
    now = timezone.now()
    days = settings.DELIVERY_RETENTION_DAYS
    for age in (days + 1, days + 2, days - 1):
        ChangeEvent.objects.create(
            organization=org, summary=f"{age} days ago", timestamp=now - timedelta(days=age)
        )
    result = prune_changes(now=now, batch_size=1)
    assert result.deleted == 2 and not result.capped
    assert list(ChangeEvent.objects.values_list("summary", flat=True)) == [f"{days - 1} days ago"]
