"""Returning to where a connect flow started, with an unsaved form as it was.

"Connect PagerDuty" can be pressed on an unsaved form (the alert form): the form's fields
are kept in the session as a draft, and after the services are connected the user lands
back on that form with the draft restored and the new services selected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, QueryDict
from django.utils.http import url_has_allowed_host_and_scheme

RETURN_KEY = "pagerduty_return"
RESTORE_KEY = "pagerduty_restore"
NOT_DRAFT = {"csrfmiddlewaretoken", "next"}


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


def draft_from(post: QueryDict) -> dict[str, list[str]]:
    return {key: post.getlist(key) for key in post if key not in NOT_DRAFT}


def remember_return(
    session: SessionBase, account_id: int, return_to: str, draft: dict[str, list[str]]
) -> None:
    returns = dict(session.get(RETURN_KEY) or {})
    returns[str(account_id)] = {"return_to": return_to, "draft": draft}
    session[RETURN_KEY] = returns


def peek_return(session: SessionBase, account_id: int) -> dict[str, Any] | None:
    return (session.get(RETURN_KEY) or {}).get(str(account_id))


def restore_later(session: SessionBase, draft: dict[str, list[str]]) -> None:
    """Keep a draft for its form even though no account was connected (deny, failure)."""
    if draft:
        session[RESTORE_KEY] = {"draft": draft, "services": []}


def finish_return(
    session: SessionBase, account_id: int, connected_service_ids: list[int]
) -> str | None:
    """End the flow: keep the draft for the form to restore, and say where to go."""
    returns = dict(session.get(RETURN_KEY) or {})
    entry = returns.pop(str(account_id), None)
    session[RETURN_KEY] = returns
    if not entry:
        return None
    if entry["draft"]:
        session[RESTORE_KEY] = {"draft": entry["draft"], "services": connected_service_ids}
    return entry["return_to"]


@dataclass
class Restore:
    draft: QueryDict
    services: list[int] = field(default_factory=list)


def take_restore(session: SessionBase) -> Restore | None:
    """The draft to put back into the form, once."""
    data = session.pop(RESTORE_KEY, None)
    if not data:
        return None
    draft = QueryDict(mutable=True)
    for key, values in data["draft"].items():
        draft.setlist(key, values)
    return Restore(draft=draft, services=list(data.get("services") or []))
