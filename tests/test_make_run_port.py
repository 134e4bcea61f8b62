"""`PORT=8300 make run`: the site's links (SITE_URL, in every PagerDuty event) and the
sandbox's allowed OAuth callback follow the port, read from what the run recipe passes to
honcho (`make -n`, in a copy of the Makefile: nothing is run)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from devtools.sandbox.config import SandboxConfig
from tests.conftest import REPO


def _run_env(tmp_path: Path, *args: str) -> dict[str, str]:
    """The variables make run sets on the honcho command line."""
    for name in ("Makefile", "Procfile.dev", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "SANDBOX_REDIRECT_URIS")}
    shown = subprocess.run(
        ["make", "-n", "--no-print-directory", "run", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in shown.replace("\\\n", " ").splitlines() if "honcho" in line)
    return dict(word.split("=", 1) for word in shlex.split(line) if "=" in word)


def _callback(port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}{reverse('pagerduty:callback')}"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_another_port_gets_its_links_and_its_oauth_callback(tmp_path):
    env = _run_env(tmp_path, "PORT=8300")
    assert env["PORT"] == "8300"
    assert env["SITE_URL"] == "http://127.0.0.1:8300"
    sandbox = SandboxConfig.from_env(env)
    assert _callback(8300) in sandbox.redirect_uris
    assert _callback(8300, "localhost") in sandbox.redirect_uris
    assert _callback(8000) not in sandbox.redirect_uris

    # The site reads it: PagerDuty's links lead to the port it runs on.
    site_url = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SITE_URL)"],
        cwd=REPO,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "alerts_saas.settings",
            "VAR_DIR": str(tmp_path / "var"),
            "SITE_URL": env["SITE_URL"],
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert site_url == "http://127.0.0.1:8300"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_default_port_and_a_site_url_of_ones_own(tmp_path):
    env = _run_env(tmp_path)
    assert env["SITE_URL"] == "http://127.0.0.1:8000"
    assert SandboxConfig.from_env(env).redirect_uris == (
        _callback(8000),
        _callback(8000, "localhost"),
    )

    env = _run_env(tmp_path, "PORT=8301", "SITE_URL=http://devbox.example:8301/")
    assert env["SITE_URL"] == "http://devbox.example:8301"
    assert _callback(8301, "devbox.example") in SandboxConfig.from_env(env).redirect_uris
