"""A token refresh that fails is told once in the log, at the level of what it means: failing
just then (PagerDuty's sign-in host down) is an outage the next refresh tries again, an INFO
line, wherever the refresh was asked (beat, or a page's call to PagerDuty); a refused grant
is a WARNING, the account needing a reconnect."""

from __future__ import annotations

import logging

import pytest
from django.utils import timezone

from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError
from integrations.pagerduty.tasks import refresh_expiring_tokens

pytestmark = pytest.mark.django_db
JUST_THEN = (
    "PagerDuty token refresh failed for account {pk} just now ({error}); the account stays "
    "connected, and the next refresh tries again."
)


def _told(caplog) -> list[tuple[str, str]]:
    """What every logger said at INFO or above: what an operator reads."""
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]


@pytest.fixture
def due(admin_client, connect) -> PagerDutyAccount:
    """A connected account whose access token expires now: the next use refreshes it."""
    account = connect(admin_client)
    PagerDutyAccount.objects.filter(pk=account.pk).update(expires_at=timezone.now())
    account.refresh_from_db()
    return account


def test_beat_failing_just_then_is_one_info_line(due, pagerduty, caplog) -> None:
    pagerduty.fault("identity", "500", count=1)
    with caplog.at_level(logging.INFO):
        assert refresh_expiring_tokens() == 0
    assert _told(caplog) == [("INFO", JUST_THEN.format(pk=due.pk, error="server_error"))]


def test_beat_finding_the_grant_refused_is_one_warning(due, pagerduty, caplog) -> None:
    pagerduty.revoke_tokens(all=True)
    with caplog.at_level(logging.INFO):
        assert refresh_expiring_tokens() == 0
    assert _told(caplog) == [
        ("WARNING", f"PagerDuty token refresh refused for account {due.pk}: invalid_grant")
    ]


def test_a_pages_call_with_the_sign_in_host_down_is_still_told(due, pagerduty, caplog) -> None:
    pagerduty.fault("identity", "drop", count=1)
    with caplog.at_level(logging.INFO), pytest.raises(PagerDutyApiError):
        AccountApi(due).me()  # the page shows its own words; the log has this line
    [(level, said)] = _told(caplog)
    assert level == "INFO"
    assert said.startswith(f"PagerDuty token refresh failed for account {due.pk} just now (")
