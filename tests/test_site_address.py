"""A page opened at another name of the product's address (make run: localhost for
127.0.0.1) goes to SITE_URL before a session begins there, since PagerDuty's OAuth callback
comes back to SITE_URL and a browser keeps a session per host. Only pages: forms posted,
the API and the health check answer where they are asked, and another port is another
site."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(settings: Any) -> None:
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.SITE_ALIASES = ["localhost"]
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]


def test_a_page_opened_at_localhost_goes_to_site_url_with_its_path(
    site: None, client: Client
) -> None:
    response = client.get("/accounts/login/?next=/o/acme/", HTTP_HOST="localhost:8000")
    assert response.status_code == 302
    assert response["Location"] == "http://127.0.0.1:8000/accounts/login/?next=/o/acme/"
    # No session was begun on the alias.
    assert "sessionid" not in response.cookies


def test_the_site_url_itself_and_other_ports_are_answered_where_asked(
    site: None, client: Client
) -> None:
    assert client.get("/accounts/login/", HTTP_HOST="127.0.0.1:8000").status_code == 200
    assert client.get("/accounts/login/", HTTP_HOST="localhost:9000").status_code == 200


def test_posts_the_api_and_the_health_check_answer_at_the_alias(site: None, client: Client) -> None:
    posted = client.post(
        "/accounts/login/", {"login": "a@b.example", "password": "x"}, HTTP_HOST="localhost:8000"
    )
    assert posted.status_code != 302 or "127.0.0.1" not in posted["Location"]
    assert client.get("/api/v1/alerts", HTTP_HOST="localhost:8000").status_code == 401
    assert client.get("/healthz", HTTP_HOST="localhost:8000")["Content-Type"].startswith(
        "application/json"
    )


def test_nothing_moves_unless_aliases_are_named(settings: Any, client: Client) -> None:
    settings.SITE_ALIASES = []
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    assert client.get("/accounts/login/", HTTP_HOST="localhost:8000").status_code == 200


@pytest.mark.parametrize(
    ("env", "aliases"),
    [
        ({"SITE_URL": "http://127.0.0.1:8123"}, ["localhost"]),
        ({"SITE_URL": "http://localhost:8123"}, ["127.0.0.1"]),
        ({"SITE_URL": "https://alerts.example", "DJANGO_DEBUG": "false"}, []),
        ({"SITE_URL": "http://127.0.0.1:8123", "SITE_ALIASES": "tripwire.test"}, ["tripwire.test"]),
    ],
)
def test_development_names_the_other_loopback_host_and_production_none(
    env: dict[str, str], aliases: list[str]
) -> None:
    """make run's defaults, read by a fresh process as make run starts it."""
    clean = {k: v for k, v in os.environ.items() if k not in ("SITE_ALIASES", "ALLOWED_HOSTS")}
    clean.update(
        DJANGO_SETTINGS_MODULE="alerts_saas.settings",
        SECRET_KEY="site-address-test",
        FIELD_ENCRYPTION_KEYS="site-address-test",
        ALLOWED_HOSTS="alerts.example" if env.get("DJANGO_DEBUG") == "false" else "",
        **env,
    )
    if not clean["ALLOWED_HOSTS"]:
        del clean["ALLOWED_HOSTS"]
    shown = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SITE_ALIASES)"],
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert shown == repr(aliases)
