"""/activity: the organization's audit log, as Settings → Activity shows it, newest first,
a page at a time (read scope). It grows with every change, so it is history: counted up to
COUNT_CAP and walked further with `before`, as the firings and deliveries are."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from ninja import Query, Router, Schema
from pydantic import BaseModel, Field

from alerts_saas.api.auth import READ, TokenRequest
from alerts_saas.api.errors import Problems
from alerts_saas.api.fields import NoNul, Who
from alerts_saas.api.paging import HistoryPaging, history_page_of
from alerts_saas.api.schemas import FieldProblem, HistoryPageOut, InvalidOut
from alerts_saas.audit import registry
from alerts_saas.audit.models import Action, Entry
from alerts_saas.audit.query import Filters, entries
from alerts_saas.audit.words import describe
from alerts_saas.ingest.schema import ErrorOut

router = Router()


class ActivityFilters(Schema):
    who: Who = Field(
        default="", description='"user:<id>", "token:<id>" or "system"; anything else is 400.'
    )
    kind: NoNul = Field(
        default="", description="What was changed, e.g. alert, service, member; another is 400."
    )
    action: NoNul = Field(default="", description=f"{', '.join(Action.values)}; another is 400.")
    since: date | None = Field(default=None, description="First day, included.")
    until: date | None = Field(default=None, description="Last day, included.")


class ActorOut(BaseModel):
    kind: Literal["user", "token", "system"]
    label: str = Field(description="Who, as named at the time: an email, or the token.")


class ObjectOut(BaseModel):
    type: str
    id: str
    name: str = Field(description="Its name at the time.")


class EntryOut(BaseModel):
    id: int
    at: datetime
    actor: ActorOut
    ip: str | None
    action: str
    object: ObjectOut
    changes: list[dict[str, Any]] = Field(
        description="Before → after per field; a secret's values are never given."
    )
    words: str = Field(description="The entry in words, as Settings → Activity says it.")


class EntryPage(HistoryPageOut):
    items: list[EntryOut]


def _entry(entry: Entry) -> EntryOut:
    return EntryOut(
        id=entry.pk,
        at=entry.created_at,
        actor=ActorOut(kind=entry.actor_kind, label=entry.actor_label),  # type: ignore[arg-type]
        ip=entry.ip,
        action=entry.action,
        object=ObjectOut(type=entry.object_type, id=entry.object_id, name=entry.object_name),
        changes=entry.changes if isinstance(entry.changes, list) else [],
        words=str(describe(entry)),
    )


@router.get(
    "/activity",
    auth=READ,
    response={200: EntryPage, 400: InvalidOut, 401: ErrorOut, 403: ErrorOut, 429: ErrorOut},
    tags=["Activity"],
)
def list_activity(
    request: TokenRequest, paging: Query[HistoryPaging], filters: Query[ActivityFilters]
) -> dict[str, Any]:
    """Who changed what, when and from where, newest first: every change by a person or a
    token (alerts, services, accounts, keys, tokens, members, settings). Counted up to
    10,000; walk further back with `before`."""
    _refuse_unknown(filters)
    wanted = Filters(**filters.dict())
    rows = entries(request.auth.organization, wanted)
    shown, facts = history_page_of(request, rows, paging, "created_at", "entries")
    return {**facts, "items": [_entry(e) for e in shown]}


def _refuse_unknown(filters: ActivityFilters) -> None:
    """400 for a filter that could match nothing for a reason the caller should hear: a
    kind or action the log never writes (a misspelling), or `since` after `until`. Listed
    empty, it read as "nobody changed anything"."""
    problems = []
    kinds = [kind for kind, _words in registry.kinds()]
    if filters.kind and registry.tracked_model(filters.kind) is None:
        problems.append(FieldProblem(field="kind", message=f"is one of {', '.join(kinds)}"))
    if filters.action and filters.action not in Action.values:
        actions = ", ".join(Action.values)
        problems.append(FieldProblem(field="action", message=f"is one of {actions}"))
    if filters.since and filters.until and filters.since > filters.until:
        problems.append(
            FieldProblem(
                field="since",
                message=f"({filters.since}) is after until ({filters.until}): no day is in "
                "between. Both days are included: send the same day for one day",
            )
        )
    if problems:
        raise Problems("The request was not understood, and nothing was done.", problems)
