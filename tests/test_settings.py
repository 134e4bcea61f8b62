"""Configuration: production needs its secrets and passes Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.conftest import REPO


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("DJANGO_", "DATABASE_", "REDIS_", "CELERY_", "SECRET_KEY", "FIELD_ENCRYPTION")
        )
    }
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "alerts_saas.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "ALLOWED_HOSTS": "alerts.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


@pytest.mark.slow
def test_production_mode_passes_check_deploy() -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="x" * 60 + "production-secret-key-with-enough-entropy-0123456789",
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS"])
def test_production_refuses_to_start_without_a_secret(missing: str) -> None:
    secrets = {"SECRET_KEY": "s" * 60, "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    secrets.pop(missing)
    result = _manage("check", **secrets, **PRODUCTION)
    assert result.returncode != 0
    assert f"{missing} must be set in production" in result.stderr


def test_development_generates_and_keeps_its_secrets(tmp_path) -> None:
    from alerts_saas.env import development_secrets

    first = development_secrets(tmp_path)
    again = development_secrets(tmp_path)
    assert first == again
    assert len(first["SECRET_KEY"]) >= 50
    Fernet(first["FIELD_ENCRYPTION_KEYS"].encode())  # a valid key
    assert oct((tmp_path / "dev-secrets.json").stat().st_mode)[-3:] == "600"


def test_a_malformed_boolean_is_an_error_in_words(monkeypatch) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from alerts_saas.env import env_bool

    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG must be true or false"):
        env_bool("SOME_FLAG", True)


@pytest.mark.parametrize(
    ("own", "sandbox"),
    [
        ({}, "http://127.0.0.1:8100"),
        ({"SANDBOX_PORT": "8234"}, "http://127.0.0.1:8234"),
        (
            {"SANDBOX_PORT": "8234", "PAGERDUTY_SANDBOX_URL": "http://127.0.0.1:9100"},
            "http://127.0.0.1:9100",
        ),
    ],
)
def test_development_reaches_the_sandbox_where_the_procfile_starts_it(
    own: dict[str, str], sandbox: str, tmp_path
) -> None:
    """`honcho start` or `manage.py runserver` without `make run`: the site and its workers
    reach PagerDuty on SANDBOX_PORT (8100 unless set), where Procfile.dev starts the
    sandbox; a PAGERDUTY_SANDBOX_URL of one's own still wins."""
    assert "--port ${SANDBOX_PORT:-8100}" in (REPO / "Procfile.dev").read_text()
    code = (
        "from django.conf import settings as s\n"
        "print(s.PAGERDUTY_IDENTITY_URL)\n"
        "for region in s.PAGERDUTY_REGIONS.values():\n"
        "    print(region['rest_url']); print(region['events_url'])\n"
    )
    env = {"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path), **own}
    env["DJANGO_SETTINGS_MODULE"] = "alerts_saas.settings"
    shown = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    hosts = shown.stdout.split()
    assert len(hosts) >= 3 and all(host.startswith(f"{sandbox}/") for host in hosts), hosts


def test_production_counts_sign_in_attempts_per_client_behind_its_proxy(tmp_path) -> None:
    """Production sits behind a proxy (SECURE_PROXY_SSL_HEADER): allauth's per-address limits
    and the activity log read the client from the hop the proxy added to X-Forwarded-For."""
    code = "from django.conf import settings as s\nprint(s.ALLAUTH_TRUSTED_PROXY_COUNT)\n"

    def proxies(**own: str) -> str:
        env = {"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path), **PRODUCTION, **own}
        env.update(SECRET_KEY="x" * 60, FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode())
        env["DJANGO_SETTINGS_MODULE"] = "alerts_saas.settings"
        shown = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
        )
        assert shown.returncode == 0, shown.stderr
        return shown.stdout.strip()

    assert proxies() == "1"
    assert proxies(TRUSTED_PROXY_COUNT="2") == "2"
