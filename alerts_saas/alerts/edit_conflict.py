"""The alert form's guard against lost updates: it carries the version it was loaded at (the
API's ETag, `api.definitions.etag`) and saves only if the alert is still that version.

Otherwise nothing is saved and the form comes back with the person's input and words on
what changed meanwhile and by whom, as far as the audit log knows (its entries about the
alert since the form was loaded, `LOADED_FIELD`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerts_saas.accounts.times import clock
from alerts_saas.alerts.models import Alert
from alerts_saas.api.definitions import etag
from alerts_saas.audit.models import ActorKind, Entry

VERSION_FIELD = "version"
LOADED_FIELD = "loaded_at"
NOT_SAVED = "Your changes are below and were not saved: review and save again."


@dataclass(frozen=True)
class Version:
    """What the form carries: the alert's version, and when the form was loaded."""

    tag: str
    loaded_at: str

    @classmethod
    def of(cls, alert: Alert | None) -> Version:
        if alert is None:
            return cls("", "")
        return cls(etag(alert), timezone.now().isoformat())

    @classmethod
    def posted(cls, data: QueryDict) -> Version:
        return cls(data.get(VERSION_FIELD, ""), data.get(LOADED_FIELD, ""))


def conflict(alert: Alert, posted: Version, user_id: int | None) -> str | None:
    """Words for the person when `alert` (locked) is no longer the version the form was
    loaded at; None when it is, or when the form carried none (a form from before)."""
    if not posted.tag or posted.tag == etag(alert):
        return None
    loaded = parse_datetime(posted.loaded_at) if posted.loaded_at else None
    entries = _entries_since(alert, loaded)
    if not entries:
        return f"This alert was changed while you were editing it. {NOT_SAVED}"
    fields = list(dict.fromkeys(str(c.get("field", "")) for e in entries for c in _changes(e)))
    who = " and ".join(dict.fromkeys(_who(e, user_id) for e in entries))
    what = f": {', '.join(f for f in fields if f)}." if any(fields) else "."
    return f"Changed {who} while you were editing{what} {NOT_SAVED}"


def _entries_since(alert: Alert, loaded: datetime | None) -> list[Entry]:
    rows = Entry.objects.filter(
        organization_id=alert.organization_id, object_type="alert", object_id=str(alert.pk)
    )
    if loaded is None or timezone.is_naive(loaded):
        return []
    return list(rows.filter(created_at__gt=loaded).order_by("created_at", "pk")[:20])


def _changes(entry: Entry) -> list[dict[str, object]]:
    changes = entry.changes if isinstance(entry.changes, list) else []
    return [c for c in changes if isinstance(c, dict)]


def _who(entry: Entry, user_id: int | None) -> str:
    at = clock(entry.created_at)
    if entry.actor_kind == ActorKind.TOKEN:
        return f"by the {entry.actor_label} at {at}"  # the label says 'API token “name”'.
    if entry.actor_kind == ActorKind.USER and user_id and entry.actor_user_id == user_id:
        return f"by you, in another tab or window, at {at}"
    if entry.actor_kind == ActorKind.USER:
        return f"by {entry.actor_label} at {at}"
    return f"by Tripwire itself at {at}"
