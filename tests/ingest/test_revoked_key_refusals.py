"""A sender still using a revoked ingest key: its batches are refused (403, as before), and
the refusals are counted cheaply and shown on the keys page, the dashboard and the API, so
the lost events are seen instead of silently gone (ingest/refusals.py)."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization, Role
from alerts_saas.ingest.models import ApiToken, IngestKey, Scope
from tests.api_client import Api

ERROR = {"app": "checkout", "level": "error", "message": "Payment failed"}
TABLE = IngestKey._meta.db_table


@pytest.fixture
def old_key(org: Organization) -> tuple[IngestKey, str]:
    key, secret = IngestKey.issue(org, "old web servers")
    key.revoke(by=None)
    return key, secret


def _send(secret: str, n: int = 1) -> None:
    client = Client()
    for _ in range(n):
        response = client.post(
            "/api/v1/events",
            data=orjson.dumps([ERROR]),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        assert response.status_code == 403


def _text(content: bytes | str) -> str:
    markup = content.decode() if isinstance(content, bytes) else content
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup)))


def _a_minute_later(key: IngestKey) -> None:
    """As if the key's last refusal was written over a minute ago: its stamp is stale, and
    the writer's gate in Redis has expired."""
    IngestKey.objects.filter(pk=key.pk).update(refused_at=timezone.now() - timedelta(seconds=61))
    if settings.REDIS_URL:
        from alerts_saas.ingest import refusals  # here: the module is new

        redis.Redis.from_url(settings.REDIS_URL).delete(refusals.gate_key(key.pk))


def test_a_revoked_key_is_still_403_in_the_same_words_and_the_refusal_is_recorded(org, old_key):
    key, secret = old_key
    response = Client().post(
        "/api/v1/events",
        data=orjson.dumps([ERROR]),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "message": f"This ingest key (“old web servers”) was revoked on "
        f"{key.revoked_at:%Y-%m-%d %H:%M} UTC. Create a new one under Settings → Ingest keys."
    }
    key.refresh_from_db()
    assert key.refused_batches == 1
    assert timezone.now() - key.refused_at < timedelta(seconds=5)
    assert key.last_used_at is None  # a refusal is not a use


def _writes(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured if q["sql"].startswith(f'UPDATE "{TABLE}"')]


def test_a_burst_of_refused_batches_writes_the_key_once_and_counts_them_all(
    org, old_key, admin_client
):
    key, secret = old_key
    with CaptureQueriesContext(connection) as captured:
        _send(secret, 200)
    assert len(_writes(captured)) == 1, _writes(captured)
    key.refresh_from_db()
    assert key.refused_batches == 1  # the rest wait in Redis for the next minute's write
    shown = _text(admin_client.get(f"/o/{org.slug}/settings/ingest-keys/").content)
    assert "Batches sent with it are refused: 200 since it was revoked" in shown

    _a_minute_later(key)
    with CaptureQueriesContext(connection) as captured:
        _send(secret, 1)
    assert len(_writes(captured)) == 1
    key.refresh_from_db()
    assert key.refused_batches == 201


def test_without_redis_a_burst_writes_once_and_counts_in_the_process(
    org, old_key, admin_client, settings
):
    settings.REDIS_URL = ""
    key, secret = old_key
    with CaptureQueriesContext(connection) as captured:
        _send(secret, 50)
    assert len(_writes(captured)) == 1
    assert "refused: 50 since" in _text(
        admin_client.get(f"/o/{org.slug}/settings/ingest-keys/").content
    )
    _a_minute_later(key)
    _send(secret, 1)
    key.refresh_from_db()
    assert key.refused_batches == 51


def test_with_redis_down_the_answer_is_the_same_403_and_the_refusal_still_written(
    old_key, settings
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    key, secret = old_key
    _send(secret, 3)
    key.refresh_from_db()
    assert key.refused_batches == 1 and key.refused_at is not None


def test_the_keys_page_says_a_revoked_key_is_still_in_use_in_the_members_zone(
    org, old_key, admin_client
):
    key, secret = old_key
    owner = org.memberships.get(role=Role.OWNER).user
    owner.time_zone = "Asia/Tokyo"
    owner.save(update_fields=["time_zone"])
    _send(secret, 3)
    _a_minute_later(key)
    _send(secret, 1)
    key.refresh_from_db()
    page = admin_client.get(f"/o/{org.slug}/settings/ingest-keys/")
    assert page.status_code == 200
    body = page.content.decode()
    cell = _text(body.split(f'id="key-refused-{key.pk}"')[1].split("</p>")[0])
    clock = timezone.localtime(key.refused_at, ZoneInfo("Asia/Tokyo")).strftime("%H:%M")
    assert "Still in use" in cell
    assert f"Batches sent with it are refused: 4 since it was revoked, the last at {clock}" in cell
    assert "Find the sender and give it a new key: create one" in cell
    assert 'href="#create-key"' in body and 'id="create-key"' in body

    # Over an hour ago: said, but no longer "still in use".
    IngestKey.objects.filter(pk=key.pk).update(refused_at=timezone.now() - timedelta(hours=2))
    later = _text(admin_client.get(f"/o/{org.slug}/settings/ingest-keys/").content)
    assert "Still in use" not in later
    assert "After it was revoked, 4 batches sent with it were refused, the last on" in later


def test_the_keys_page_reads_every_key_in_one_query(org, admin_client):
    for n in range(6):
        key, secret = IngestKey.issue(org, f"old {n}")
        key.revoke(by=None)
        _send(secret, 1)
    with CaptureQueriesContext(connection) as captured:
        body = admin_client.get(f"/o/{org.slug}/settings/ingest-keys/").content.decode()
    reads = [q["sql"] for q in captured if f'FROM "{TABLE}"' in q["sql"]]
    assert len(reads) == 1, reads
    assert body.count("Still in use") == 6


def test_the_dashboard_says_so_while_the_key_was_used_within_the_hour(org, old_key, admin_client):
    key, secret = old_key
    quiet = _text(admin_client.get(f"/o/{org.slug}/").content)
    assert "revoked ingest key" not in quiet
    _send(secret, 2)
    page = admin_client.get(f"/o/{org.slug}/").content.decode()
    assert f'href="/o/{org.slug}/settings/ingest-keys/#ingest-key-{key.pk}"' in page
    line = _text(page.split(f'data-revoked-key="{key.pk}"')[1].split("</p>")[0])
    assert "Events refused: a sender still uses the revoked ingest key “old web servers”" in line
    assert "(2 batches refused since it was revoked" in line  # 1 written, 1 not yet
    assert "Find the sender and give it a new key" in line
    live = _text(admin_client.get(f"/o/{org.slug}/dashboard/live/").content)
    assert "still uses the revoked ingest key “old web servers”" in live

    IngestKey.objects.filter(pk=key.pk).update(refused_at=timezone.now() - timedelta(minutes=61))
    assert "revoked ingest key" not in _text(admin_client.get(f"/o/{org.slug}/").content)


def test_another_organization_sees_nothing_of_it(org, old_key, make_org, make_user):
    _key, secret = old_key
    _send(secret, 5)
    other = make_org("Other Co", owner=make_user("owner@other.example"))
    IngestKey.issue(other, "their key")[0].revoke(by=None)
    client = Client()
    client.force_login(other.memberships.get(role=Role.OWNER).user)
    for path in ("/", "/settings/ingest-keys/"):
        page = _text(client.get(f"/o/{other.slug}{path}").content)
        assert "old web servers" not in page
        assert "Still in use" not in page and "still uses the revoked" not in page
    their = Api(ApiToken.issue(other, "their tool", scope=Scope.READ)[1])
    items = their.get("/ingest-keys", status=200).json()["items"]
    assert [(k["name"], k["refused_batches"], k["last_refused_at"]) for k in items] == [
        ("their key", 0, None)
    ]


def test_the_api_lists_the_refusals_as_its_document_says(org, old_key):
    key, secret = old_key
    IngestKey.issue(org, "new web servers")
    _send(secret, 2)
    key.refresh_from_db()
    assert key.refused_batches == 1  # the second, not written yet, is counted in Redis
    api = Api(ApiToken.issue(org, "tool", scope=Scope.READ)[1])  # answers checked vs the doc
    items = {k["name"]: k for k in api.get("/ingest-keys", status=200).json()["items"]}
    assert items["old web servers"]["refused_batches"] == 2
    last = datetime.fromisoformat(items["old web servers"]["last_refused_at"])
    assert abs(last - key.refused_at) < timedelta(milliseconds=1)
    assert items["new web servers"]["refused_batches"] == 0
    assert items["new web servers"]["last_refused_at"] is None
    document = Client().get("/api/v1/openapi.json").json()
    fields = document["components"]["schemas"]["IngestKeyOut"]["properties"]
    assert "revoked" in fields["refused_batches"]["description"]
    assert "last_refused_at" in fields
