"""Numbers in requests that `str.isdigit` takes and `int` refuses ("²", or more digits than
`int` reads) are no id and no number: the page answers as for any other wrong value, never
a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.ingest.models import IngestKey

pytestmark = pytest.mark.django_db

NOT_IDS = ["²", "١٢", "9" * 5000]


@pytest.fixture
def owner_client(make_org):
    org = make_org("Acme")
    client = Client(raise_request_exception=False)
    client.force_login(org.memberships.get().user)
    return org, client


@pytest.mark.parametrize("value", NOT_IDS)
def test_pages_that_read_an_id_from_the_query(owner_client, value):
    org, client = owner_client
    alert = Alert.objects.create(
        organization=org, name="Checkout errors", threshold=3, window_minutes=5, match_app="x"
    )
    opened = timezone.now() - timedelta(hours=2)
    Firing.objects.create(
        organization=org,
        alert=alert,
        opened_at=opened,
        cleared_at=opened + timedelta(minutes=5),
        clear_reason=Firing.ClearReason.CLEARED,
        count_at_open=3,
    )
    for url, query in [
        (f"/o/{org.slug}/settings/ingest-keys/", {"created": value}),
        (f"/o/{org.slug}/settings/api-tokens/", {"created": value}),
        (f"/o/{org.slug}/alerts/{alert.pk}/", {"sent": value}),
        (f"/o/{org.slug}/settings/activity/", {"who": f"user:{value}"}),
    ]:
        assert client.get(url, query).status_code == 200, url
    assert (
        client.get(f"/o/{org.slug}/settings/activity/", {"who": f"token:{value}"}).status_code
        == 200
    )


@pytest.mark.parametrize("value", NOT_IDS)
def test_the_alert_form_says_what_is_wrong(owner_client, value):
    org, client = owner_client
    for field in ("threshold", "window_minutes", "targets"):
        posted = {"name": f"Errors {field}", "threshold": "3", "window_minutes": "5"}
        posted[field] = value
        page = client.post(f"/o/{org.slug}/alerts/new/", posted)
        assert page.status_code == 400, (field, page.status_code)
        assert 'class="errorlist' in page.content.decode(), field
        assert not Alert.objects.filter(organization=org).exists()


@pytest.mark.parametrize("value", ["²", "9" * 5000])
def test_ingest_refuses_a_content_length_that_is_no_number(value, make_org):
    _key, secret = IngestKey.issue(make_org("Acme"), "web servers")
    answer = Client(raise_request_exception=False).post(
        "/api/v1/events",
        b"[]",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        CONTENT_LENGTH=value,
    )
    assert answer.status_code == 400
    assert answer.json()["message"] == "The Content-Length header is not a number of bytes."
