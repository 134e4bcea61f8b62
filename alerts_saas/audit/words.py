"""An entry in words: "alice@example.com changed alert “Checkout errors”: threshold
5 → 10, window 5 min → 10 min"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateformat import format as date_format

from alerts_saas.accounts.times import DEFAULT_FORMAT
from alerts_saas.audit import registry
from alerts_saas.audit.models import Action, Entry


@dataclass(frozen=True)
class Sentence:
    actor: str
    did: str  # what was done to what: "changed alert “Checkout errors”"
    changes: tuple[str, ...]

    def __str__(self) -> str:
        text = f"{self.actor} {self.did}"
        return f"{text}: {', '.join(self.changes)}" if self.changes else text


def describe(entry: Entry) -> Sentence:
    by_itself = entry.actor_kind == "user" and entry.actor_label == entry.object_name
    phrase = registry.phrase_for(entry.object_type, entry.action, by_itself=by_itself)
    did = phrase.replace("{name}", entry.object_name)
    created = entry.action == Action.CREATED
    changes = entry.changes if isinstance(entry.changes, list) else []
    toggled = entry.action in (Action.ENABLED, Action.DISABLED) and len(changes) == 1
    shown = () if toggled else tuple(change_words(c, created=created) for c in changes)
    return Sentence(actor=entry.actor_label, did=did, changes=shown)


def change_words(change: dict[str, Any], *, created: bool = False) -> str:
    """One change: "threshold 5 → 10", "integration key changed", "PagerDuty services:
    added Ops", "component set to “web”"."""
    field = str(change.get("field", ""))
    if change.get("secret"):
        return f"{field} set" if created else f"{field} changed"
    if "added" in change or "removed" in change:
        parts = []
        if change.get("added"):
            parts.append("added " + ", ".join(change["added"]))
        if change.get("removed"):
            parts.append("removed " + ", ".join(change["removed"]))
        return f"{field}: {'; '.join(parts)}"
    text = bool(change.get("text"))
    before, after = _quoted(change.get("before"), text), _quoted(change.get("after"), text)
    if created or "before" not in change:  # made, or added (a note): no before to show
        return f"{field}: {after}"
    if before is None:
        return f"{field} set to {after}"
    if after is None:
        return f"{field} cleared (was {before})"
    return f"{field} {before} → {after}"


PLAIN = re.compile(r"[^\s]+")
# A moment as an entry keeps it (str() of an aware datetime: "2026-11-30 10:17:26.4893+00:00").
MOMENT = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)")


def _quoted(value: object, text: bool) -> str | None:
    """A value as it reads in a sentence: text a person wrote is in quotes when it has
    spaces (“Checkout errors”), a moment in the reader's zone as the log shows times
    ("30 Nov 2026, 05:17"), anything else bare ("Read and write", "10 min")."""
    if value is None:
        return None
    shown = str(value)
    if text:
        return shown if PLAIN.fullmatch(shown) else f"“{shown}”"
    return _moment(shown) or shown


def _moment(shown: str) -> str | None:
    """A kept moment in the active zone (the reader's, `times.TimeZoneMiddleware`)."""
    if not MOMENT.fullmatch(shown):
        return None
    try:
        moment = datetime.fromisoformat(shown)
    except ValueError:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return date_format(timezone.localtime(moment), DEFAULT_FORMAT)
