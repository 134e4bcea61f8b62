"""Shared fixtures: users and organizations, a real Celery worker, headless Chromium."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test import Client
from playwright.sync_api import Browser, Page

from alerts_saas.accounts.models import Membership, Organization, Role, User
from alerts_saas.accounts.services import create_organization
from alerts_saas.ingest.models import IngestKey
from devtools.sandbox.testing import SandboxClient, SandboxProcess, free_port
from tests.csp_watch import watching

pytest_plugins = ["tests.pagerduty_fixtures"]

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
PASSWORD = "correct-horse-battery-staple"

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """allauth's rate limits live in the (Redis) cache: each test starts with none spent.
    The event counts share that Redis database; each test starts with a count store that
    has been counting all along (epoch 0), as in a long-running deployment: the tests of a
    store that lost its counts remove the epoch themselves."""
    from django.conf import settings
    from django.core.cache import cache

    from alerts_saas.alerts.counting import counts
    from alerts_saas.alerts.counting_redis import EPOCH_KEY, RedisCounts

    cache.clear()
    store = counts()
    if settings.REDIS_URL and isinstance(store, RedisCounts):
        store.client.set(EPOCH_KEY, "0")
    yield


# --- Users and organizations ------------------------------------------------------------


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(email: str, password: str = PASSWORD) -> User:
        user = User.objects.create_user(email=email, password=password)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user

    return make


@pytest.fixture
def make_org(make_user: Callable[..., User]) -> Callable[..., Organization]:
    def make(name: str, owner: User | None = None) -> Organization:
        owner = owner or make_user(f"owner@{name.lower().replace(' ', '-')}.example")
        return create_organization(owner, name)

    return make


@pytest.fixture
def add_member(make_user: Callable[..., User]) -> Callable[..., Membership]:
    def add(org: Organization, email: str, role: Role = Role.MEMBER) -> Membership:
        user = User.objects.filter(email=email).first() or make_user(email)
        return Membership.objects.create(organization=org, user=user, role=role)

    return add


@pytest.fixture
def acme_member_signed_in(
    make_org: Callable[..., Organization], add_member: Callable[..., Membership], client: Client
) -> tuple[Organization, Membership]:
    """The organization "Acme" and its member member@acme.example (not an admin), signed in
    on `client`."""
    org = make_org("Acme")
    member = add_member(org, "member@acme.example")
    client.force_login(member.user)
    return org, member


# --- The PagerDuty sandbox, over real HTTP ------------------------------------------------

# The live server gets a fixed free port, so the sandbox can register its callback URL.
# One per process: each of pytest-xdist's workers chooses its own rather than use the one
# it inherited from the controlling process, and this module, imported again as
# tests.conftest, keeps the one it chose the first time.
_ADDRESS = os.environ.get("DJANGO_LIVE_TEST_SERVER_ADDRESS")
if _ADDRESS and os.environ.get("TEST_LIVE_SERVER_PID") in (None, str(os.getpid())):
    LIVE_SERVER_PORT = int(_ADDRESS.rsplit(":", 1)[1])
else:
    LIVE_SERVER_PORT = free_port()
    os.environ["DJANGO_LIVE_TEST_SERVER_ADDRESS"] = f"127.0.0.1:{LIVE_SERVER_PORT}"
    os.environ["TEST_LIVE_SERVER_PID"] = str(os.getpid())
CALLBACK_PATH = "/integrations/pagerduty/callback"


@pytest.fixture(scope="session")
def pd_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    redirect_uris = [
        f"http://testserver{CALLBACK_PATH}",
        f"http://127.0.0.1:{LIVE_SERVER_PORT}{CALLBACK_PATH}",
        f"http://localhost:{LIVE_SERVER_PORT}{CALLBACK_PATH}",
    ]
    env = {"SANDBOX_REDIRECT_URIS": ",".join(redirect_uris), "SANDBOX_TOKEN_LIFETIME": "864000"}
    log_path = tmp_path_factory.mktemp("pd-sandbox") / "sandbox.log"
    with SandboxProcess(env=env, log_path=log_path) as proc:
        yield proc


def sandbox_settings(sandbox: SandboxClient) -> dict[str, object]:
    return {
        "PAGERDUTY_IDENTITY_URL": sandbox.identity_url,
        "PAGERDUTY_REGIONS": {
            code: {
                "rest_url": sandbox.rest_url(code),
                "events_url": sandbox.events_url(code),
                "audience": audience,
            }
            for code, audience in (
                ("us", "https://api.pagerduty.com"),
                ("eu", "https://api.eu.pagerduty.com"),
            )
        },
    }


@pytest.fixture
def pagerduty(pd_sandbox: SandboxProcess, settings: object) -> SandboxProcess:
    """The sandbox, reset to its seed, with the product's settings pointing at it."""
    pd_sandbox.reset()
    for name, value in sandbox_settings(pd_sandbox).items():
        setattr(settings, name, value)
    return pd_sandbox


# --- A real Celery worker ----------------------------------------------------------------


def worker_env(sandbox_url: str | None = None) -> dict[str, str]:
    """The worker uses the test database that pytest-django created, the test broker, and
    the sandbox the test points at."""
    settings_dict = connection.settings_dict
    env = dict(os.environ)
    if sandbox_url:
        env["PAGERDUTY_SANDBOX_URL"] = sandbox_url
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    env["DATABASE_URL"] = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
        f"/{settings_dict['NAME']}"
    )
    return env


class WorkerProcess:
    def __init__(
        self, log_path: Path, env: dict[str, str], extra_args: tuple[str, ...] = ()
    ) -> None:
        self.log_path = log_path
        self.env = env
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "alerts_saas",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"test-{os.getpid()}-{id(self)}@%h",
                *self.extra_args,
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not wait:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if "ready." in self.log_path.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"Celery worker exited: {self.log_path.read_text()}")
            time.sleep(0.2)
        raise RuntimeError(f"Celery worker not ready in 30 s: {self.log_path.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def worker_sandbox_url(pd_sandbox: SandboxProcess) -> str:
    """Workers talk to the test sandbox."""
    return pd_sandbox.url


@pytest.fixture
def worker_settings() -> dict[str, str]:
    """Extra environment (settings) for the worker process; override to tune it."""
    return {}


@pytest.fixture
def make_worker(
    transactional_db: None,
    tmp_path: Path,
    worker_sandbox_url: str | None,
    worker_settings: dict[str, str],
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real worker processes (stopped at the end of the test)."""
    started: list[WorkerProcess] = []

    def make(wait: bool = True, extra_args: tuple[str, ...] = (), **env: str) -> WorkerProcess:
        worker = WorkerProcess(
            tmp_path / f"worker-{len(started)}.log",
            {**worker_env(worker_sandbox_url), **worker_settings, **env},
            extra_args,
        )
        started.append(worker)
        worker.start(wait=wait)
        return worker

    yield make
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_worker(make_worker: Callable[..., WorkerProcess]) -> WorkerProcess:
    """A real worker process on Redis, seeing the rows the test commits."""
    from alerts_saas.celery import app

    app.control.purge()
    return make_worker()


def wait_for(
    condition: Callable[[], object],
    timeout: float = 20,
    interval: float = 0.1,
    message: str = "condition",
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout} s waiting for {message}")


# --- Headless Chromium --------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(autouse=True)
def no_csp_violations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every browser context a test opens reports the Content-Security-Policy violations of
    its pages (tests/csp_watch.py); the test fails if there was any."""
    found: list[str] = []
    monkeypatch.setattr(Browser, "new_context", watching(Browser.new_context, found))
    yield found
    assert not found, "Content-Security-Policy violations:\n" + "\n".join(found)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context (pytest-playwright's own `page` fixture pulls in its
    `base_url` fixture, which warns on this pytest)."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[..., Path]:
    """Save a full-page screenshot under test-artifacts/<test name>/ (ignored by git)."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    counter = {"n": 0}

    def shoot(page: object, name: str) -> Path:
        counter["n"] += 1
        path = folder / f"{counter['n']:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    return shoot


# --- The ingest API, as a sender calls it ---------------------------------------------------


@pytest.fixture
def ingest_secret(org: Organization) -> str:
    return IngestKey.issue(org, "web servers")[1]


Poster = Callable[..., Any]


@pytest.fixture
def post_events(ingest_secret: str) -> Poster:
    """POST a batch to the ingest API: a list or dict (as JSON) or raw bytes."""

    def post(
        body: Any, secret: str | None = None, client: Client | None = None, **headers: str
    ) -> Any:
        data = body if isinstance(body, bytes | str) else orjson.dumps(body)
        return (client or Client()).post(
            "/api/v1/events",
            data=data,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret or ingest_secret}",
            **headers,
        )

    return post
