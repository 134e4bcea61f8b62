"""Who calls the management API: an organization's API token, its scope, its allowance.

A request that gets through carries the token as `request.auth` and `request.api_token`
(the audit log reads the latter to say which token made a change). Every query of the API
starts from the token's organization: another organization's id is 404, as on the pages.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper
from django.http import HttpRequest
from ninja.security import HttpBearer

from alerts_saas.accounts.models import Organization
from alerts_saas.ingest import limits
from alerts_saas.ingest.models import KEY_PREFIX, TOKEN_PREFIX, ApiToken, hash_key
from alerts_saas.ingest.parsing import Refused

log = logging.getLogger(__name__)

WHERE = "Create one under Settings → API tokens."
# What each kind of secret is for, said when it is sent where the other kind belongs.
KIND_WORDS = {
    KEY_PREFIX: (
        f"This is an ingest key ({KEY_PREFIX}…): it sends events to /api/v1/events and changes "
        f"to /api/v1/changes. The management API takes an API token ({TOKEN_PREFIX}…), made "
        "under Settings → API tokens."
    ),
    TOKEN_PREFIX: (
        f"This is an API token ({TOKEN_PREFIX}…): it is for the management API (/api/v1/alerts, "
        f"/api/v1/firings and the rest). Events and changes are sent with an ingest key "
        f"({KEY_PREFIX}…), made under Settings → Ingest keys."
    ),
}


class TokenRequest(HttpRequest):
    """A request that `ApiTokenAuth` let through."""

    auth: ApiToken
    api_token: ApiToken


def organization(request: TokenRequest) -> Organization:
    return request.auth.organization


class ApiTokenAuth(HttpBearer):
    """A bearer API token: missing, unknown or revoked is 401 (an ingest key is told it is
    one), whoever revoked it, or its creator's departure (`refuse_outlived`, saying why);
    over its requests per minute 429; a read token on an operation that changes something
    is 403."""

    def __init__(self, write: bool = False) -> None:
        super().__init__()
        self.write = write

    def __call__(self, request: HttpRequest) -> ApiToken:
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Refused(
                401,
                f"Send your API token as “Authorization: Bearer <token>”. {WHERE}",
                {"WWW-Authenticate": "Bearer"},
            )
        return self.authenticate(request, secret.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken:
        refuse_other_kind(token, TOKEN_PREFIX)
        found = (
            ApiToken.objects.select_related("organization")
            .annotate(creator_may=ExpressionWrapper(ApiToken.creator_may_hold(), BooleanField()))
            .filter(key_hash=hash_key(token))
            .first()
        )
        if found is None:
            raise Refused(
                401,
                f"This API token is not valid. Check that it was copied whole. {WHERE}",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        refuse_outlived(found)
        if found.is_revoked:  # by a person: it no longer authenticates anyone, as above
            raise Refused(
                401,
                f"This API token (“{found.name}”) was revoked on "
                f"{found.revoked_at:%Y-%m-%d %H:%M} UTC. Create a new one under "
                "Settings → API tokens.",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        # Used, whatever the answer (a tool refused 429 or 403 is still using it): stamped
        # at most once a minute, so a refused flood doesn't write per request.
        found.touch()
        _take_one(found)
        if self.write and not found.can_write:
            raise Refused(
                403,
                f"This API token (“{found.name}”) can only read. To make changes, use a "
                "token with read and write access (Settings → API tokens).",
            )
        request.api_token = found  # type: ignore[attr-defined]  # the audit log's seam
        return found


def refuse_outlived(token: ApiToken) -> None:
    """401 for a token that outlived its creator's right to make it: revoked when they left
    or were made a member, or (a path that did not revoke it) its creator is no longer an
    owner or admin. A token acts for the person who made it."""
    if token.is_revoked and token.revoked_reason:
        when = f"{token.revoked_at:%Y-%m-%d %H:%M} UTC"
        why = f"was revoked on {when}: {token.revoked_reason}"
    elif not token.is_revoked and not getattr(token, "creator_may", True):
        why = "no longer works: its creator is no longer an owner or admin of the organization"
    else:
        return
    raise Refused(
        401,
        f"This API token (“{token.name}”) {why}. A token works only while the person who "
        f"made it is an owner or admin of {token.organization.name}. Ask one of them to "
        "create a new token under Settings → API tokens.",
        {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def refuse_other_kind(secret: str, takes: str) -> None:
    """401 naming the kind of a secret of the other kind, and where it belongs: its prefix
    says which, so nothing is looked up."""
    for prefix, words in KIND_WORDS.items():
        if prefix != takes and secret.startswith(prefix):
            raise Refused(401, words, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _take_one(token: ApiToken) -> None:
    """Count the request against the token's allowance. If the count can't be kept (Redis
    is down), the request goes through: nobody should be kept from disabling an alert
    because a rate counter is unavailable."""
    try:
        verdict = limits.take_request(token.pk)
    except Exception:
        log.warning("Counting API token %s's requests failed; let through", token.pk)
        return
    if not verdict.allowed:
        raise Refused(
            429,
            f"This API token made more than {settings.API_REQUESTS_PER_MINUTE:,} requests "
            f"in the last minute. Nothing was done; send this request again in "
            f"{verdict.retry_after} s (Retry-After).",
            {"Retry-After": str(verdict.retry_after)},
        )


READ = ApiTokenAuth()
WRITE = ApiTokenAuth(write=True)
