"""PagerDuty endpoints and credentials, from settings (see README, "PagerDuty")."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class RegionEndpoints:
    code: str
    rest_url: str
    events_url: str
    audience: str


def region(code: str) -> RegionEndpoints:
    conf = settings.PAGERDUTY_REGIONS[code]
    return RegionEndpoints(code, conf["rest_url"], conf["events_url"], conf["audience"])


def region_for_audience(audiences: list[str]) -> str | None:
    """The region whose REST API audience is in an id_token's `aud` claim."""
    for code, conf in settings.PAGERDUTY_REGIONS.items():
        if conf["audience"] in audiences:
            return code
    return None


def authorize_url() -> str:
    return f"{settings.PAGERDUTY_IDENTITY_URL}/oauth/authorize"


def token_url() -> str:
    return f"{settings.PAGERDUTY_IDENTITY_URL}/oauth/token"


def id_token_issuer() -> str:
    """The `iss` of PagerDuty's id_tokens: one identity host for every region."""
    return f"{settings.PAGERDUTY_IDENTITY_URL}/global/oauth/anonymous"


def oauth_configured() -> bool:
    return bool(settings.PAGERDUTY_CLIENT_ID and settings.PAGERDUTY_CLIENT_SECRET)
