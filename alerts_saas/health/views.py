"""/healthz: whether the database and the broker answer, and whether a worker ran lately."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from alerts_saas.celery import app as celery_app
from alerts_saas.health.models import Heartbeat
from alerts_saas.health.tasks import WORKER_HEARTBEAT


def _check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not answering"
        name = exc.__class__.__name__
        return {"ok": False, "error": name, "problem": f"the database does not answer ({name})"}
    return {"ok": True, "vendor": connection.vendor}


def _check_broker() -> dict[str, Any]:
    transport = celery_app.conf.broker_url.split("://", 1)[0]
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        name = exc.__class__.__name__
        return {
            "ok": False,
            "transport": transport,
            "error": name,
            "problem": f"the broker ({transport}) does not answer ({name})",
        }
    return {"ok": True, "transport": transport}


def _check_worker(database_ok: bool) -> dict[str, Any]:
    interval = settings.HEARTBEAT_INTERVAL
    fresh_within = 3 * interval
    if not database_ok:
        return {
            "ok": False,
            "last_heartbeat": None,
            "problem": "the worker's heartbeat is unknown: the database does not answer",
        }
    try:
        beat = Heartbeat.objects.filter(name=WORKER_HEARTBEAT).first()
    except Exception as exc:
        return {
            "ok": False,
            "last_heartbeat": None,
            "problem": f"the worker's heartbeat could not be read ({exc.__class__.__name__})",
        }
    if beat is None:
        return {
            "ok": False,
            "last_heartbeat": None,
            "problem": (
                "no worker heartbeat yet: beat schedules one every "
                f"{interval} s and a worker must run it"
            ),
        }
    age = (timezone.now() - beat.beat_at).total_seconds()
    result: dict[str, Any] = {
        "ok": age <= fresh_within,
        "last_heartbeat": beat.beat_at.isoformat(),
        "seconds_ago": round(age, 1),
    }
    if not result["ok"]:
        result["problem"] = (
            f"no worker heartbeat for {round(age)} s (expected every {interval} s, "
            f"stale after {fresh_within} s): the worker or beat is down"
        )
    return result


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer and a worker ran lately, 503 otherwise.

    "Lately" is within three times HEARTBEAT_INTERVAL: beat schedules the heartbeat task every
    HEARTBEAT_INTERVAL seconds and a worker records it, so a stale heartbeat means the
    worker or beat is down and nothing queued is being delivered. After a fresh start the
    answer is 503 until the first heartbeat has run (one interval after beat starts). A
    failed check says why in its `problem`, and `problems` lists them all.
    """
    database = _check_database()
    broker = _check_broker()
    worker = _check_worker(database["ok"])
    checks = {"database": database, "broker": broker, "worker": worker}
    healthy = all(check["ok"] for check in checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        **checks,
        "problems": [check["problem"] for check in checks.values() if not check["ok"]],
    }
    return JsonResponse(body, status=200 if healthy else 503)
