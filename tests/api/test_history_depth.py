"""/deliveries and /firings with a long history: counted up to 10,000 ("10000+" past
that, as the served OpenAPI document says: every answer here is checked against it), `page`
within that, and `before` (`next_before`, which `next` follows) through all of it, none
twice or missed, at the same cost on any page; a service's filter read from its index."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.models import Delivery
from tests.history_rows import copies, scans
from tests.history_rows import delivery as _delivery

pytestmark = pytest.mark.django_db


def _newest_first(rows) -> list[int]:
    return list(rows.order_by("-created_at", "-pk").values_list("pk", flat=True))


def _walk(api, path: str) -> tuple[list[int], int]:
    """Every id from `path` on, following `next` to the end; and how many pages."""
    seen: list[int] = []
    pages = 0
    url: str | None = path
    while url is not None:
        answer = api.get(url, status=200).json()
        seen += [item["id"] for item in answer["items"]]
        pages += 1
        url = answer["next"]
    return seen, pages


def test_a_long_history_is_counted_to_10000_and_walked_whole_past_it(api, service):
    """10,051 deliveries, three to a second: the count stops at "10000+", `page` reaches
    the first 10,000, and `next` goes on with `before` to the very first delivery."""
    copies(_delivery(service), 10_050, every=timedelta(seconds=1), same=3)
    everything = _newest_first(Delivery.objects.all())

    first = api.get("/deliveries", query={"per_page": 100}, status=200).json()
    assert (first["count"], first["count_capped"]) == (10_000, True)
    assert first["next"] == "http://testserver/api/v1/deliveries?per_page=100&page=2"
    assert first["previous"] is None and first["next_before"]
    assert [d["id"] for d in first["items"]] == everything[:100]

    last_by_page = api.get("/deliveries", query={"per_page": 100, "page": 100}).json()
    assert [d["id"] for d in last_by_page["items"]] == everything[9_900:10_000]
    assert last_by_page["next"] == (
        f"http://testserver/api/v1/deliveries?per_page=100&before={last_by_page['next_before']}"
    )
    past = api.get("/deliveries", query={"per_page": 100, "page": 101}, status=400).json()
    assert past["message"].startswith(
        "Page 101 starts past the first 10,000 deliveries, which is as far as `page` "
        "reaches. To read older deliveries, follow `next` (or pass `before` with the "
        "`next_before` of the last page you read)."
    )
    assert past["errors"] == [{"field": "page", "message": "is at most 100"}]

    seen, pages = _walk(api, "/deliveries?per_page=100")
    assert seen == everything  # 10,051: all, in order, none twice
    assert pages == 101

    wrong = api.get("/deliveries", query={"before": "yesterday"}, status=400).json()
    assert wrong["errors"] == [
        {"field": "before", "message": "is not one we gave: pass a page's `next_before` as it came"}
    ]
    both = api.get("/deliveries", query={"before": first["next_before"], "page": 2}, status=400)
    assert both.json()["errors"][0]["field"] == "before"


def test_a_short_history_is_counted_exactly(api, service):
    copies(_delivery(service), 6, every=timedelta(seconds=1))
    answer = api.get("/deliveries", query={"per_page": 5}, status=200).json()
    assert (answer["count"], answer["count_capped"]) == (7, False)
    older = api.get(answer["next"], status=200).json()
    assert len(older["items"]) == 2 and older["next"] is None and older["next_before"] is None
    walked = api.get("/deliveries", query={"per_page": 5, "before": answer["next_before"]})
    assert walked.json()["items"] == older["items"]


def test_a_page_far_back_costs_what_the_first_does(api, service, other_service):
    for target in (service, other_service):
        copies(_delivery(target), 12_000, every=timedelta(seconds=1))
    with CaptureQueriesContext(connection) as first:
        api.get("/deliveries", query={"service_id": service.pk}, status=200)
    page = api.get("/deliveries", query={"service_id": service.pk, "page": 200}).json()
    for _ in range(20):
        page = api.get(page["next"], status=200).json()
    with CaptureQueriesContext(connection) as deep:
        deep_page = api.get(page["next"], status=200).json()
    assert "before=" in page["next"] and len(deep_page["items"]) == 50
    assert len(deep.captured_queries) == len(first.captured_queries)
    assert {d["service_id"] for d in deep_page["items"]} == {service.pk}


def test_a_services_deliveries_are_read_from_its_index(api, service, other_service):
    """The service filter is answered from (service, organization, created_at): the rows,
    and the capped count, with no table scan and no reading of other services' rows."""
    copies(_delivery(service), 12_000, every=timedelta(seconds=1))
    copies(_delivery(other_service), 100_000, every=timedelta(seconds=1))
    with CaptureQueriesContext(connection) as read:
        api.get("/deliveries", query={"service_id": service.pk}, status=200)
    queries = [q["sql"] for q in read.captured_queries if '"pagerduty_delivery"' in q["sql"]]
    assert len(queries) == 2  # the page, and the capped count
    for sql in queries:
        used = scans(sql, "pagerduty_delivery")
        assert used and all(index == "pagerduty_delivery_service" for _, index in used), used


def test_firings_of_the_same_moment_are_walked_once_each(api, org):
    """Four firings opened in the same microsecond at a time: `before` tells them apart by
    id, so a page boundary between them loses none and repeats none."""
    alert = Alert.objects.create(organization=org, name="Disk", threshold=1)
    now = timezone.now()
    seed = Firing.objects.create(
        organization=org, alert=alert, count_at_open=1, opened_at=now, cleared_at=now
    )
    copies(seed, 120, field="opened_at", every=timedelta(seconds=1), same=4)
    everything = list(Firing.objects.order_by("-opened_at", "-pk").values_list("pk", flat=True))
    first = api.get("/firings", query={"per_page": 7}, status=200).json()
    assert (first["count"], first["count_capped"]) == (121, False)
    seen = [f["id"] for f in first["items"]]
    before = first["next_before"]
    while before is not None:
        answer = api.get("/firings", query={"per_page": 7, "before": before}, status=200).json()
        assert answer["previous"] is None
        seen += [f["id"] for f in answer["items"]]
        before = answer["next_before"]
    assert seen == everything
