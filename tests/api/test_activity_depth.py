"""/activity with a long log: like the firings and deliveries, counted up to 10,000 ("10000+"
past that, as the served OpenAPI document says: every answer here is checked against it),
`page` within that and `before` past it, in the same few queries at any depth."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts_saas.audit.models import ActorKind, Entry
from tests.history_rows import copies, scans

pytestmark = pytest.mark.django_db


def _entry(org) -> Entry:
    return Entry.objects.create(
        organization=org,
        actor_kind=ActorKind.SYSTEM,
        actor_label="System",
        object_type="alert",
        object_id="1",
        object_name="Disk full",
        action="changed",
    )


def _reads(api, url: str) -> tuple[dict, list[str]]:
    """The answer to `url`, and the SQL it ran on the audit log."""
    table = Entry._meta.db_table
    with CaptureQueriesContext(connection) as read:
        answer = api.get(url, status=200).json()
    return answer, [q["sql"] for q in read.captured_queries if f'"{table}"' in q["sql"]]


def test_a_long_log_is_counted_to_10000_and_walked_past_it(api, org):
    copies(_entry(org), 10_050, every=timedelta(seconds=1), same=2)
    newest_first = list(
        Entry.objects.filter(organization=org)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
    )
    first = api.get("/activity", query={"per_page": 100}, status=200).json()
    assert (first["count"], first["count_capped"]) == (10_000, True)
    assert [e["id"] for e in first["items"]] == newest_first[:100]
    assert first["next"] == "http://testserver/api/v1/activity?per_page=100&page=2"

    last_by_page = api.get("/activity", query={"per_page": 100, "page": 100}).json()
    assert last_by_page["next"].endswith(f"before={last_by_page['next_before']}")
    past = api.get("/activity", query={"per_page": 100, "page": 101}, status=400).json()
    assert past["message"].startswith(
        "Page 101 starts past the first 10,000 entries, which is as far as `page` reaches."
    )
    rest = api.get(last_by_page["next"], status=200).json()
    assert [e["id"] for e in rest["items"]] == newest_first[10_000:10_100]
    assert rest["count_capped"] is True and rest["previous"] is None


def test_a_short_log_is_counted_exactly(api, org):
    _entry(org)
    answer = api.get("/activity", query={"kind": "alert"}, status=200).json()
    assert (answer["count"], answer["count_capped"], answer["next_before"]) == (1, False, None)


def test_the_log_costs_the_same_few_queries_at_any_length_and_depth(api, org, make_org):
    """Two queries on the log at any length or depth: the page, and a count that stops at
    10,001 rows; both read the organization's (time, id) index, not the others' rows."""
    _entry(org)
    _short, short_sql = _reads(api, "/activity")
    copies(_entry(org), 12_000, every=timedelta(seconds=1))
    copies(_entry(make_org("Globex")), 60_000, every=timedelta(seconds=1))
    _first, long_sql = _reads(api, "/activity")
    far = api.get("/activity", query={"page": 200}, status=200).json()
    deep, deep_sql = _reads(api, f"/activity?before={far['next_before']}")
    assert len(short_sql) == len(long_sql) == len(deep_sql) == 2
    assert len(deep["items"]) == 50 and deep["count_capped"] is True
    [count] = [sql for sql in long_sql if "COUNT(" in sql.upper()]
    assert "LIMIT 10001" in count
    for sql in long_sql + deep_sql:
        used = scans(sql, Entry._meta.db_table)
        assert used and all(index == "audit_entry_org_time" for _, index in used), (sql, used)
