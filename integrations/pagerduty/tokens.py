"""Keeping OAuth access tokens fresh.

PagerDuty rotates the refresh token on every refresh, so two processes refreshing the
same account at once would race. Instead of a lock, each refresh is a compare-and-set on
`token_version`: the loser of a race finds the winner's tokens and uses them.

A refresh that fails just then (PagerDuty's sign-in host failing or unreachable) is an
outage, retried by whatever needs the tokens next: an INFO line, or DEBUG for a caller that
tells each failure itself (`transient_level`). A refused grant is a WARNING: the account
needs reconnecting.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone
from oauthlib.oauth2 import OAuth2Error
from requests import RequestException

from integrations.pagerduty import oauth
from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.signals import announce

log = logging.getLogger(__name__)
# Answers that mean the grant is gone for good; anything else (server_error, ...) may pass.
PERMANENT_ERRORS = {"invalid_grant", "invalid_client", "unauthorized_client", "access_denied"}


class TokenRefreshError(Exception):
    """The account's tokens could not be refreshed; the message is for the person.

    `permanent`: PagerDuty refused the grant (reconnecting is the only way back); otherwise
    it failed or could not be reached just then, and a later refresh may work. `what`: what
    happened, without the advice on what comes next (for a log that says what does)."""

    def __init__(self, message: str, *, what: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.what = what
        self.permanent = permanent


def refresh_tokens(
    account: PagerDutyAccount, transient_level: int = logging.INFO
) -> PagerDutyAccount:
    """Refresh `account`'s tokens now and return the account with the current tokens; a
    failure just then is logged at `transient_level`."""
    seen_version = account.token_version
    try:
        token = oauth.refresh(account.refresh_token)
    except OAuth2Error as exc:
        if exc.error not in PERMANENT_ERRORS:
            _failed_just_then(account, exc.error, transient_level)
            what = f"PagerDuty could not refresh access just now ({exc.error})."
            raise TokenRefreshError(
                f"{what} It will be tried again in a few minutes.", what=what
            ) from exc
        current = PagerDutyAccount.objects.get(pk=account.pk)
        if current.token_version != seen_version:
            return current  # another process refreshed first; its tokens are good
        what = f"PagerDuty refused to refresh access ({exc.error})."
        detail = f"{what} Reconnect the account to keep managing its services."
        mark_to_reconnect(account, detail, token_version=seen_version)
        log.warning("PagerDuty token refresh refused for account %s: %s", account.pk, exc.error)
        raise TokenRefreshError(detail, what=what, permanent=True) from exc
    except (RequestException, ValueError) as exc:
        # PagerDuty unreachable: transient, the account stays connected; beat tries again.
        _failed_just_then(account, exc.__class__.__name__, transient_level)
        what = "PagerDuty could not be reached to refresh access."
        raise TokenRefreshError(f"{what} Try again in a minute.", what=what) from exc
    now = timezone.now()
    changes = {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token") or account.refresh_token,
        "expires_at": now + timedelta(seconds=int(token.get("expires_in") or 0)),
        "refreshed_at": now,
        "status": PagerDutyAccount.Status.ACTIVE,
        "status_detail": "",
        "refused_at": None,
        "token_version": seen_version + 1,
    }
    updated = PagerDutyAccount.objects.filter(pk=account.pk, token_version=seen_version).update(
        **changes
    )
    if updated and account.needs_reconnect:
        announce(PagerDutyAccount, [account.organization_id])
    log.info("PagerDuty tokens refreshed for account %s", account.pk)
    return PagerDutyAccount.objects.get(pk=account.pk)


def mark_to_reconnect(
    account: PagerDutyAccount, detail: str, *, token_version: int, only_if_active: bool = False
) -> bool:
    """Mark the account as needing reconnecting, unless its tokens changed since
    `token_version` was read (compare-and-set); announced, so the banner, the dashboard and
    the emails follow. `only_if_active`: leave an account already marked as it was (its
    first refusal's time). Returns whether this call marked it."""
    rows = PagerDutyAccount.objects.filter(pk=account.pk, token_version=token_version)
    if only_if_active:
        rows = rows.filter(status=PagerDutyAccount.Status.ACTIVE)
    marked = rows.update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT,
        status_detail=detail,
        refused_at=timezone.now(),
    )
    if marked:
        announce(PagerDutyAccount, [account.organization_id])
    return bool(marked)


def _failed_just_then(account: PagerDutyAccount, error: str | None, level: int) -> None:
    log.log(
        level,
        "PagerDuty token refresh failed for account %s just now (%s); the account stays "
        "connected, and the next refresh tries again.",
        account.pk,
        error,
    )


def fresh(account: PagerDutyAccount, transient_level: int = logging.INFO) -> PagerDutyAccount:
    """The account with an access token that is not about to expire."""
    if account.expires_soon():
        return refresh_tokens(account, transient_level)
    return account
