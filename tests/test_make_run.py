"""`make run` on a clean clone, with no PostgreSQL or Redis settings, brings up the site on
8000 with the worker and beat running, and the demo account it prints can sign in."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from devtools.sandbox.testing import SandboxClient
from tests.conftest import REPO, wait_for

pytestmark = pytest.mark.slow
BASE = "http://127.0.0.1:8000"
SANDBOX = "http://127.0.0.1:8100"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _clean_env() -> dict[str, str]:
    dropped = (
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "DJANGO_SETTINGS_MODULE",
        "VAR_DIR",
        "VIRTUAL_ENV",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    )
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PATH"] = ":".join(p for p in env["PATH"].split(":") if "/.venv/" not in p)
    return env


def _wait_healthy(proc: subprocess.Popen, log: Path, timeout: float = 420) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"make run exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            body = requests.get(f"{BASE}/healthz", timeout=2).json()
            if body.get("worker", {}).get("ok"):
                return body
        except (requests.RequestException, ValueError):
            pass
        time.sleep(1)
    pytest.fail(f"not healthy in {timeout} s (last: {body}):\n{log.read_text()[-4000:]}")


def _send_test_event_through_the_sandbox(session: requests.Session) -> None:
    sandbox = SandboxClient(SANDBOX)
    assert sandbox.health(), "the sandbox is not answering on 8100"
    key = pagerduty_key(sandbox)
    page = f"{BASE}/o/demo/settings/integrations/"
    session.get(page, timeout=10)
    form = {"csrfmiddlewaretoken": session.cookies["csrftoken"]}
    response = session.post(
        f"{BASE}/o/demo/settings/integrations/pagerduty/keys/",
        data={**form, "name": "Edge Gateway", "integration_key": key, "region": "us"},
        headers={"Referer": page},
        timeout=10,
    )
    service_id = re.search(r"/services/(\d+)/test/", response.text).group(1)
    response = session.post(
        f"{BASE}/o/demo/settings/integrations/pagerduty/services/{service_id}/test/",
        data={**form, "confirm": "1"},
        headers={"Referer": page},
        timeout=10,
    )
    delivery_url = response.url
    deadline = time.monotonic() + 60
    while "PagerDuty accepted it" not in session.get(delivery_url, timeout=10).text:
        assert time.monotonic() < deadline, "the worker did not deliver the test event"
        time.sleep(1)
    inbox = requests.get(f"{SANDBOX}/", timeout=10).text
    assert "Edge Gateway" in inbox
    events = sandbox.events(routing_key=key)
    assert events and events[-1]["body"]["payload"]["summary"].startswith("[TEST]")


def _events_fire_and_clear_on_the_embedded_defaults(session: requests.Session) -> None:
    """Ingest key, alert, events over the API: the trigger reaches the sandbox, and beat
    sends the resolve once the events are out of the window (SQLite, filesystem broker)."""
    keys_page = f"{BASE}/o/demo/settings/ingest-keys/"
    session.get(keys_page, timeout=10)
    form = {"csrfmiddlewaretoken": session.cookies["csrftoken"]}
    response = session.post(
        f"{keys_page}create/",
        data={**form, "name": "make run"},
        headers={"Referer": keys_page},
        timeout=10,
    )
    secret = re.search(r'value="(twk_[^"]+)"', response.text).group(1)
    alerts_page = f"{BASE}/o/demo/alerts/new/"
    page = session.get(alerts_page, timeout=10).text
    service_id = re.search(r'name="targets" value="(\d+)"', page).group(1)
    response = session.post(
        alerts_page,
        headers={"Referer": alerts_page},
        timeout=10,
        data={
            **form,
            "name": "Gateway errors",
            "severity": "critical",
            "summary_template": "{alert}: {count} errors in {window}",
            "source": "gateway",
            "kind": "presence",
            "threshold": "2",
            "window_minutes": "1",
            "window_unit": "minutes",
            "match_app": "gateway",
            "match_level": "40",
            "auto_resolve": "on",  # checked on the form, as a browser sends it
            "targets": [service_id],
            "details-TOTAL_FORMS": "0",
            "details-INITIAL_FORMS": "0",
            "details-MIN_NUM_FORMS": "0",
            "details-MAX_NUM_FORMS": "50",
        },
    )
    assert "Alert “Gateway errors” saved." in response.text, response.text[-3000:]
    stamp = (datetime.now(UTC) - timedelta(seconds=45)).isoformat()
    events = [
        {"app": "gateway", "level": "error", "message": f"upstream 502 #{i}", "timestamp": stamp}
        for i in range(2)
    ]
    response = requests.post(
        f"{BASE}/api/v1/events",
        json=events,
        timeout=10,
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 202 and response.json()["accepted"] == 2

    sandbox = SandboxClient(SANDBOX)
    key = pagerduty_key(sandbox)

    def sent(action: str) -> list[dict]:
        return [
            e
            for e in sandbox.events(routing_key=key)
            if e["body"]["event_action"] == action
            and e["status_code"] == 202
            and "-firing-" in e["body"]["dedup_key"]
        ]

    wait_for(
        lambda: sent("trigger"),
        timeout=60,
        interval=0.5,
        message="the firing's trigger in the sandbox",
    )
    [trigger] = sent("trigger")
    assert trigger["body"]["payload"]["summary"] == "Gateway errors: 2 errors in 1 minute"
    wait_for(
        lambda: sent("resolve"), timeout=90, interval=1, message="beat's resolve of the firing"
    )
    assert sent("resolve")[0]["body"]["dedup_key"] == trigger["body"]["dedup_key"]


def pagerduty_key(sandbox: SandboxClient) -> str:
    edge = next(s for s in sandbox.account("us")["services"] if s["name"] == "Edge Gateway")
    return edge["integrations"][0]["integration_key"]


def test_make_run_on_a_clean_clone(tmp_path: Path) -> None:
    assert _port_free(8000), "port 8000 is taken; stop what runs there"
    assert _port_free(8100), "port 8100 is taken; stop what runs there"
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["make", "run"],
            cwd=clone,
            env=_clean_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        health = _wait_healthy(proc, log)
        assert health["database"] == {"ok": True, "vendor": "sqlite"}
        assert health["broker"] == {"ok": True, "transport": "filesystem"}
        assert (clone / "var" / "db.sqlite3").exists()

        output = log.read_text()
        for process in ("web.1", "worker.1", "beat.1", "sandbox.1"):
            assert process in output, f"{process} did not start"
        assert "Sending due task heartbeat" in output  # beat scheduled it
        match = re.search(r"Sign in as (\S+) with password (\S+)", output)
        assert match, "make run did not print how to sign in"

        session = requests.Session()
        session.get(f"{BASE}/accounts/login/", timeout=5)
        response = session.post(
            f"{BASE}/accounts/login/",
            data={
                "login": match.group(1),
                "password": match.group(2),
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"Referer": f"{BASE}/accounts/login/"},
            timeout=10,
        )
        assert response.url == f"{BASE}/o/demo/", response.url
        assert "Demo Org" in response.text

        # The sandbox runs beside it: a pasted key's test event goes through the worker to
        # the sandbox, and its inbox shows it.
        _send_test_event_through_the_sandbox(session)
        _events_fire_and_clear_on_the_embedded_defaults(session)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
