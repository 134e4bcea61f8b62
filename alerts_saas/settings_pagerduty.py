"""PagerDuty settings: its hosts, our OAuth client, sending to it (deliveries), and test
incidents' resolve. Star-imported by alerts_saas/settings.py, so these are Django settings as
any other; kept apart to keep settings.py readable. Reads only the environment (env.py), never
settings or app code, so imports run one way.
"""

from __future__ import annotations

import os
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from alerts_saas.env import debug, env_float, env_int, env_str

# Every PagerDuty host is a setting: PagerDuty's own in production; in development the local
# sandbox (devtools/sandbox), on SANDBOX_PORT (8100 unless set) as Procfile.dev starts it.
_SANDBOX_PORT = env_int("SANDBOX_PORT", 8100)
_SANDBOX = env_str("PAGERDUTY_SANDBOX_URL", f"http://127.0.0.1:{_SANDBOX_PORT}") if debug() else ""


def _pd_host(name: str, real: str, sandbox_path: str) -> str:
    return env_str(name, f"{_SANDBOX}{sandbox_path}" if _SANDBOX else real).rstrip("/")


if _SANDBOX:
    # The sandbox speaks plain HTTP on loopback; oauthlib refuses that unless told.
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
# The REST client class: PagerDuty's official one, which insists on HTTPS. Development swaps
# in a subclass from devtools/ (not shipped) that also reaches the sandbox on loopback.
PAGERDUTY_REST_CLIENT = env_str(
    "PAGERDUTY_REST_CLIENT",
    "devtools.sandbox.client.LoopbackRestClient" if _SANDBOX else "pagerduty.RestApiV2Client",
)

PAGERDUTY_IDENTITY_URL = _pd_host(
    "PAGERDUTY_IDENTITY_URL", "https://identity.pagerduty.com", "/identity"
)
PAGERDUTY_REGIONS = {
    "us": {
        "rest_url": _pd_host("PAGERDUTY_REST_URL_US", "https://api.pagerduty.com", "/rest/us"),
        "events_url": _pd_host(
            "PAGERDUTY_EVENTS_URL_US", "https://events.pagerduty.com", "/events/us"
        ),
        "audience": "https://api.pagerduty.com",
    },
    "eu": {
        "rest_url": _pd_host("PAGERDUTY_REST_URL_EU", "https://api.eu.pagerduty.com", "/rest/eu"),
        "events_url": _pd_host(
            "PAGERDUTY_EVENTS_URL_EU", "https://events.eu.pagerduty.com", "/events/eu"
        ),
        "audience": "https://api.eu.pagerduty.com",
    },
}
PAGERDUTY_CLIENT_ID = env_str("PAGERDUTY_CLIENT_ID", "sandbox-client-id" if _SANDBOX else "")
PAGERDUTY_CLIENT_SECRET = env_str(
    "PAGERDUTY_CLIENT_SECRET", "sandbox-client-secret" if _SANDBOX else ""
)
# Classic user OAuth `write` by default; a scoped app sets "services.read services.write".
PAGERDUTY_SCOPE = env_str("PAGERDUTY_SCOPE", "write")
# Access tokens are refreshed this long before they expire.
PAGERDUTY_REFRESH_MARGIN = timedelta(seconds=env_int("PAGERDUTY_REFRESH_MARGIN", 3600))
PAGERDUTY_HTTP_TIMEOUT = env_int("PAGERDUTY_HTTP_TIMEOUT", 10)
# A webhook whose event happened longer ago than this (seconds) is not applied: PagerDuty
# retries one for up to 48 hours, so an older one is a replay (`incidents/views.py`). Never
# longer than incident history is kept (DELIVERY_RETENTION_DAYS), which de-duplicates them.
PAGERDUTY_WEBHOOK_MAX_AGE = timedelta(seconds=env_int("PAGERDUTY_WEBHOOK_MAX_AGE", 49 * 3600))
# Deleting our webhook subscriptions of removed services (`incidents.unsubscriptions`): one
# request per call, this many seconds at most; a failed try waits as long as the deleting
# has gone on, from the first figure to the second (1 min doubling to 1 h), for a day.
PAGERDUTY_UNSUBSCRIBE_TIMEOUT = env_int("PAGERDUTY_UNSUBSCRIBE_TIMEOUT", 5)
PAGERDUTY_UNSUBSCRIBE_RETRY_FIRST = env_int("PAGERDUTY_UNSUBSCRIBE_RETRY_FIRST", 60)
PAGERDUTY_UNSUBSCRIBE_RETRY_CAP = env_int("PAGERDUTY_UNSUBSCRIBE_RETRY_CAP", 3600)
# Beat reads each connected account's services once in this many seconds, a slice of the
# accounts a minute (`integrations.pagerduty.service_check`).
PAGERDUTY_SERVICE_CHECK_INTERVAL = env_int("PAGERDUTY_SERVICE_CHECK_INTERVAL", 900)
# Beat reads each OAuth-connected account once in this many seconds (GET /services?limit=1;
# an account with connected services is proven by the services' check's listing instead,
# if that comes at least as often), a slice of the accounts a minute, so a grant revoked in
# PagerDuty is found at any hour (`integrations.pagerduty.access_check`).
PAGERDUTY_ACCESS_CHECK_INTERVAL = env_int("PAGERDUTY_ACCESS_CHECK_INTERVAL", 900)
# PagerDuty's documented Events API limit per integration key, enforced before sending.
PAGERDUTY_EVENTS_PER_MINUTE = env_int("PAGERDUTY_EVENTS_PER_MINUTE", 120)
PAGERDUTY_EVENTS_WINDOW = env_int("PAGERDUTY_EVENTS_WINDOW", 60)  # seconds
# A claimed delivery not settled within this time is sent again (its worker died); the lease
# is renewed every third of it while sends are in flight. With the sweeper's interval this
# bounds how late a delivery whose worker died goes out: lease + interval, 30 s.
DELIVERY_LEASE = timedelta(seconds=env_int("DELIVERY_LEASE", 20))
# A queued delivery this far past due has lost its task (broker down); the sweeper requeues it.
DELIVERY_SWEEP_GRACE = timedelta(seconds=env_int("DELIVERY_SWEEP_GRACE", 15))
# Events one worker process has in flight at once (from its one event loop: sender.py).
DELIVERY_SEND_CONCURRENCY = env_int("DELIVERY_SEND_CONCURRENCY", 8)
# Retries of 429, 5xx, timeouts and network errors back off from 5 s, doubling, up to 30 s
# (a page goes out at most 30 s after PagerDuty is back; its per-key limit still holds), and
# give up after 24 h.
DELIVERY_RETRY_BASE = env_int("DELIVERY_RETRY_BASE", 5)
DELIVERY_RETRY_CAP = env_int("DELIVERY_RETRY_CAP", 30)
DELIVERY_GIVE_UP_AFTER = timedelta(seconds=env_int("DELIVERY_GIVE_UP_AFTER", 24 * 3600))
# Final deliveries and cleared firings older than this many days are deleted by beat.
DELIVERY_RETENTION_DAYS = env_int("DELIVERY_RETENTION_DAYS", 90)
if DELIVERY_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("DELIVERY_RETENTION_DAYS must be at least 1.")
# A test trigger is queued with its resolve, due this long after it, so that test incidents
# do not stay open in PagerDuty (integrations/pagerduty/autoresolve.py). Minutes, fractions
# allowed; 0 turns it off (test incidents then stay open until resolved by hand).
_AUTO_RESOLVE_MINUTES = env_float("TEST_INCIDENT_AUTO_RESOLVE_MINUTES", 10)
if not 0 <= _AUTO_RESOLVE_MINUTES <= 24 * 60:
    raise ImproperlyConfigured(
        "TEST_INCIDENT_AUTO_RESOLVE_MINUTES must be from 0 (off) to 1440 (a day)."
    )
TEST_INCIDENT_AUTO_RESOLVE = timedelta(minutes=_AUTO_RESOLVE_MINUTES)
