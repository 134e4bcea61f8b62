"""What one browser keeps while it connects PagerDuty: the connect flow's whole state.

"Connect PagerDuty" can be pressed on Settings / Integrations or on an unsaved alert form.
One press is a `Trip`: the OAuth state and PKCE verifier (bound to the user and the
organization), where to return, and the unsaved form's fields. It goes through three stages,
all kept under one session key by `ConnectFlow`:

1. authorizing: from "Connect PagerDuty" to PagerDuty's callback (keyed by OAuth state;
   the state works once, for a few minutes);
2. choosing services: from the callback (or, for an account already connected, straight
   from "Connect PagerDuty") to "Connect" or "Cancel" on the service picker (keyed by the
   connected account);
3. returning: the unsaved form waits to be restored once, with the new services ticked.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, QueryDict
from django.utils.http import url_has_allowed_host_and_scheme

from integrations.pagerduty.oauth import AuthorizationRequest, OAuthFlowError

SESSION_KEY = "pagerduty_connect"
STATE_LIFETIME = 600  # seconds between "Connect PagerDuty" and the callback
MAX_AUTHORIZING = 5  # abandoned attempts kept at most, newest first
NOT_FORM_FIELDS = {"csrfmiddlewaretoken", "next"}

FormFields = dict[str, list[str]]


def safe_return_to(request: HttpRequest, candidate: str | None, slug: str, default: str) -> str:
    """`candidate` if it is a page of this organization on this site, else `default`."""
    if (
        candidate
        and url_has_allowed_host_and_scheme(
            candidate, {request.get_host()}, require_https=request.is_secure()
        )
        and candidate.startswith(f"/o/{slug}/")
    ):
        return candidate
    return default


def unsaved_form(post: QueryDict) -> FormFields:
    """The fields of the form "Connect PagerDuty" was pressed on, to put back later."""
    return {key: post.getlist(key) for key in post if key not in NOT_FORM_FIELDS}


@dataclass
class Trip:
    """One press of "Connect PagerDuty", from the redirect to the return."""

    state: str
    code_verifier: str
    redirect_uri: str
    user_id: int
    organization_id: int
    started: float
    return_to: str
    form: FormFields = field(default_factory=dict)


@dataclass
class Restore:
    """The unsaved form to put back, with the services connected on the way."""

    form: QueryDict
    services: list[int] = field(default_factory=list)


class ConnectFlow:
    """The session's connect state; every change is written back at once."""

    def __init__(self, session: SessionBase) -> None:
        self.session = session
        data: dict[str, Any] = session.get(SESSION_KEY) or {}
        self.authorizing: dict[str, dict[str, Any]] = dict(data.get("authorizing") or {})
        self.choosing: dict[str, dict[str, Any]] = dict(data.get("choosing") or {})
        self.restore: dict[str, Any] | None = data.get("restore")

    def _save(self) -> None:
        self.session[SESSION_KEY] = {
            "authorizing": self.authorizing,
            "choosing": self.choosing,
            "restore": self.restore,
        }

    def begin(
        self,
        request: AuthorizationRequest,
        *,
        user_id: int,
        organization_id: int,
        return_to: str,
        form: FormFields,
    ) -> None:
        """Remember a trip to PagerDuty until its callback."""
        trip = Trip(
            state=request.state,
            code_verifier=request.code_verifier,
            redirect_uri=request.redirect_uri,
            user_id=user_id,
            organization_id=organization_id,
            started=time.time(),
            return_to=return_to,
            form=form,
        )
        self.authorizing[trip.state] = asdict(trip)
        newest = sorted(self.authorizing, key=lambda s: self.authorizing[s]["started"])
        for old in newest[:-MAX_AUTHORIZING]:
            del self.authorizing[old]
        self._save()

    def arrive(self, state: str | None, user_id: int) -> Trip:
        """The trip PagerDuty's callback is for; its state works once."""
        data = self.authorizing.pop(state or "", None)
        self._save()
        if not state:
            raise OAuthFlowError("The reply from PagerDuty had no state parameter.")
        if data is None:
            raise OAuthFlowError(
                "This PagerDuty authorization is not one this browser started, or it was "
                "already used. Start again from Settings / Integrations."
            )
        trip = Trip(**data)
        if trip.user_id != user_id:
            raise OAuthFlowError("This PagerDuty authorization was started by another user.")
        if time.time() - trip.started > STATE_LIFETIME:
            raise OAuthFlowError(
                "This PagerDuty authorization took too long and has expired. Start again."
            )
        return trip

    def choose_more(
        self,
        account_id: int,
        *,
        user_id: int,
        organization_id: int,
        return_to: str,
        form: FormFields,
    ) -> None:
        """A trip that skips PagerDuty: the account is connected already, so it goes
        straight to choosing services, and returns with the form like any other."""
        trip = Trip(
            state="",
            code_verifier="",
            redirect_uri="",
            user_id=user_id,
            organization_id=organization_id,
            started=time.time(),
            return_to=return_to,
            form=form,
        )
        self.choose_services(trip, account_id)

    def choose_services(self, trip: Trip, account_id: int) -> None:
        """The account is stored; the trip waits on the service picker."""
        self.choosing[str(account_id)] = asdict(trip)
        self._save()

    def choosing_return_to(self, account_id: int) -> str | None:
        """Where the trip choosing services on `account_id` goes back to, if one is."""
        data = self.choosing.get(str(account_id))
        return str(data["return_to"]) if data else None

    def finish(self, account_id: int, connected_service_ids: list[int]) -> str | None:
        """End the trip on `account_id`: keep its form to restore, and say where to go."""
        data = self.choosing.pop(str(account_id), None)
        if data is None:
            self._save()
            return None
        self.keep_form(data["form"], connected_service_ids)
        return str(data["return_to"])

    def keep_form(self, form: FormFields, connected_service_ids: list[int] | None = None) -> None:
        """Keep an unsaved form to restore once (also when nothing was connected)."""
        if form:
            self.restore = {"form": form, "services": list(connected_service_ids or [])}
        self._save()

    def take_restore(self) -> Restore | None:
        """The unsaved form to put back, once."""
        data, self.restore = self.restore, None
        if not data:
            return None
        self._save()
        form = QueryDict(mutable=True)
        for key, values in data["form"].items():
            form.setlist(key, values)
        return Restore(form=form, services=list(data.get("services") or []))
