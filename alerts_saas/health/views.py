"""/healthz: whether the database and the broker answer, and when the worker last ran."""

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
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor}


def _check_broker() -> dict[str, Any]:
    transport = celery_app.conf.broker_url.split("://", 1)[0]
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return {"ok": False, "transport": transport, "error": exc.__class__.__name__}
    return {"ok": True, "transport": transport}


def _check_worker() -> dict[str, Any]:
    try:
        beat = Heartbeat.objects.filter(name=WORKER_HEARTBEAT).first()
    except Exception:
        return {"ok": False, "last_heartbeat": None}
    if beat is None:
        return {"ok": False, "last_heartbeat": None}
    age = (timezone.now() - beat.beat_at).total_seconds()
    return {
        "ok": age <= 3 * settings.HEARTBEAT_INTERVAL,
        "last_heartbeat": beat.beat_at.isoformat(),
        "seconds_ago": round(age, 1),
    }


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, 503 otherwise.

    The worker's heartbeat is reported but does not fail the check: a web process should
    not be restarted because the worker is down.
    """
    database = _check_database()
    broker = _check_broker()
    worker = _check_worker() if database["ok"] else {"ok": False, "last_heartbeat": None}
    healthy = database["ok"] and broker["ok"]
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": database,
        "broker": broker,
        "worker": worker,
    }
    return JsonResponse(body, status=200 if healthy else 503)
