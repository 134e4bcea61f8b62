"""Invitation tokens, password-reset keys and PagerDuty webhook tokens never reach a log: a
journey that uses them (a wrong person opening the invitation, its owner accepting it, a
password reset, an unsigned post to a webhook receiver) is run through Django with every log
record captured, and through the production image's own gunicorn command, whose access log
and console are read whole."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from django.test import Client

from alerts_saas.accounts.models import Invitation, Membership, Organization, User
from alerts_saas.security import redact
from devtools.sandbox.testing import free_port
from tests.conftest import PASSWORD, REPO, worker_env

RESET_LINK = re.compile(r"https?://[^/\s]+(/accounts/password/reset/key/([0-9a-z]+)-([^/\s]+)/)")


@pytest.fixture
def org(make_org, make_user) -> Organization:
    return make_org("Acme", owner=make_user("owner@acme.example"))


def _webhook_token() -> str:
    """A token as a webhook subscription is given one (subscriptions.py)."""
    return secrets.token_urlsafe(32)


def _invite(org: Organization) -> str:
    owner = org.memberships.get().user
    _invitation, token = Invitation.issue(org, "new@acme.example", "member", owner)
    return token


def test_redact_keeps_the_path_readable() -> None:
    assert (
        redact("GET /invitations/abc_DEF-123/ HTTP/1.1") == "GET /invitations/[redacted]/ HTTP/1.1"
    )
    assert (
        redact("Bad Request: /accounts/password/reset/key/2-cdv5qx-9f1e2/")
        == "Bad Request: /accounts/password/reset/key/[redacted]/"
    )
    assert redact("/accounts/confirm-email/MTA:1vX:abc/") == "/accounts/confirm-email/[redacted]/"
    assert (
        redact('"POST /integrations/pagerduty/webhooks/9f3c0b2e-7d1a_X HTTP/1.1" 401')
        == '"POST /integrations/pagerduty/webhooks/[redacted] HTTP/1.1" 401'
    )
    # The invitations list under Settings holds no secret, and stays as it is.
    kept = "POST /o/acme/settings/invitations/12/revoke/"
    assert redact(kept) == kept


@pytest.mark.django_db
def test_a_journey_through_django_logs_no_token_or_key(
    org: Organization,
    make_user: Callable[..., User],
    client: Client,
    mailoutbox: list,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    token = _invite(org)
    make_user("new@acme.example")
    make_user("someone-else@example.com")

    # A wrong person opens the invitation: refused, and Django warns "Bad Request: <path>".
    client.force_login(User.objects.get(email="someone-else@example.com"))
    assert client.get(f"/invitations/{token}/").status_code in (200, 400)
    assert client.post(f"/invitations/{token}/").status_code == 400
    client.logout()
    # Its owner accepts it; the used link is opened again.
    client.force_login(User.objects.get(email="new@acme.example"))
    assert client.post(f"/invitations/{token}/").status_code == 302
    assert Membership.objects.filter(user__email="new@acme.example").exists()
    client.get(f"/invitations/{token}/")
    client.logout()

    # A password reset, its link opened twice (the second time it is spent).
    client.post("/accounts/password/reset/", {"email": "new@acme.example"})
    path, _uid, key = RESET_LINK.search(mailoutbox[-1].body).groups()  # type: ignore[union-attr]
    set_password = client.get(path)
    assert set_password.status_code == 302
    client.post(
        set_password["Location"], {"password1": "N3w-pass-phrase!", "password2": "N3w-pass-phrase!"}
    )
    client.get(path)

    # An unsigned post to a webhook receiver: refused, and Django warns "Unauthorized: <path>".
    webhook = _webhook_token()
    assert client.post(f"/integrations/pagerduty/webhooks/{webhook}", {}).status_code == 401

    lines = [caplog.text, *(r.getMessage() for r in caplog.records), *capfd.readouterr()]
    assert any("Bad Request: /invitations/[redacted]/" in r.getMessage() for r in caplog.records)
    assert any(
        "Unauthorized: /integrations/pagerduty/webhooks/[redacted]" in r.getMessage()
        for r in caplog.records
    )
    for secret in (token, key, webhook):
        leaked = [line for text in lines for line in text.splitlines() if secret in line]
        assert not leaked, leaked


# --- The production command ----------------------------------------------------------------


def _production_command(port: int) -> list[str]:
    """The Dockerfile's CMD, on a free local port with one worker."""
    line = next(x for x in (REPO / "Dockerfile").read_text().splitlines() if x.startswith("CMD "))
    command: list[str] = json.loads(line.removeprefix("CMD "))
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    command[command.index("--workers") + 1] = "1"
    assert command[0] == "gunicorn"
    return [sys.executable, "-m", "gunicorn", *command[1:]]


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """The production web command against the test database; its URL, its output (access
    log and console, as a container's log has them) and the folder mail is written to."""
    port, log, mail = free_port(), tmp_path / "gunicorn.log", tmp_path / "mail"
    env = worker_env() | {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend"}
    env["EMAIL_FILE_PATH"] = str(mail)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            _production_command(port),
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/accounts/login/", timeout=10).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield base, log, mail
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def _post(session: requests.Session, url: str, data: dict[str, str]) -> requests.Response:
    """A form post as a browser makes it: the form's page first, for the CSRF token."""
    page = session.get(url, timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf, page.text[:500]
    headers = {"Referer": url}
    return session.post(
        url, {"csrfmiddlewaretoken": csrf.group(1), **data}, headers=headers, timeout=10
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_production_access_log_holds_no_token_or_key(
    org: Organization, make_user: Callable[..., User], gunicorn: tuple[str, Path, Path]
) -> None:
    base, log, mail = gunicorn
    token = _invite(org)
    make_user("new@acme.example")
    make_user("someone-else@example.com")
    invitation = f"{base}/invitations/{token}/"

    wrong = requests.Session()
    _post(
        wrong,
        f"{base}/accounts/login/",
        {"login": "someone-else@example.com", "password": PASSWORD},
    )
    assert _post(wrong, invitation, {}).status_code == 400
    # What the page loads is asked for with the page's address as Referer.
    wrong.get(f"{base}/static/css/app.css", headers={"Referer": invitation}, timeout=10)

    invited = requests.Session()
    _post(invited, f"{base}/accounts/login/", {"login": "new@acme.example", "password": PASSWORD})
    assert _post(invited, invitation, {}).status_code == 200  # followed to the organization
    assert Membership.objects.filter(user__email="new@acme.example").exists()

    anonymous = requests.Session()
    _post(anonymous, f"{base}/accounts/password/reset/", {"email": "new@acme.example"})
    sent = "".join(p.read_text() for p in mail.iterdir())
    path, _uid, key = RESET_LINK.search(sent).groups()  # type: ignore[union-attr]
    anonymous.get(f"{base}{path}", timeout=10)
    webhook = _webhook_token()
    assert anonymous.post(f"{base}/integrations/pagerduty/webhooks/{webhook}").status_code == 401

    time.sleep(0.5)  # gunicorn writes a request's access line after answering it
    written = log.read_text()
    assert '"POST /invitations/[redacted]/ HTTP/1.1" 400' in written, written
    assert "Bad Request: /invitations/[redacted]/" in written, written
    assert "/accounts/password/reset/key/[redacted]/" in written, written
    assert '"POST /integrations/pagerduty/webhooks/[redacted] HTTP/1.1" 401' in written, written
    for secret in (token, key, webhook):
        leaked = [line for line in written.splitlines() if secret in line]
        assert not leaked, leaked
