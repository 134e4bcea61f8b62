"""One change of a POST /api/v1/changes body, judged alone: kept (its strings made storable,
its time in UTC), or refused with why in words, by its index.

As for events (`batch.py`, `repair.py`): a change nested more than MAX_DEPTH levels deep is
refused; NUL characters and unpaired surrogates, which PostgreSQL and UTF-8 refuse, are
replaced with U+FFFD with a note (in a link's address, which they would break, they refuse
the change); and only a body that needs it is looked at string by string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alerts_saas.ingest.batch import out_of_bounds, span, too_deep
from alerts_saas.ingest.repair import shown, storable
from alerts_saas.ingest.schema import MAX_DEPTH, ItemProblem

MAX_LINKS = 20
MAX_SUMMARY = 1024
# The UTC offsets in use anywhere on Earth; a wider one is a sender's mistake, and which
# time it meant is unknown.
EARLIEST_OFFSET, LATEST_OFFSET = timedelta(hours=-12), timedelta(hours=14)
REPAIRED = "NUL characters and unpaired surrogates can't be stored; each was replaced with �."


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    href: str = Field(max_length=2048, pattern=r"^https?://\S+$", description="An http(s) address.")
    text: str | None = Field(None, max_length=1024)


class ChangePayloadIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    summary: str = Field(
        min_length=1,
        max_length=MAX_SUMMARY,
        description="What changed, in a line.",
        examples=["Deployed checkout v2.14.0"],
    )
    timestamp: datetime | None = Field(
        None,
        description="When it changed: ISO 8601 (UTC if no offset is given; offsets from "
        "-12:00 to +14:00), kept in UTC. Defaults to when it arrives. At most "
        f"{span(settings.INGEST_MAX_FUTURE.total_seconds())} ahead of our clock and "
        f"{span(settings.INGEST_MAX_AGE.total_seconds())} old, as for events (both "
        "configurable).",
    )
    source: str | None = Field(None, max_length=255, examples=["ci-pipeline"])
    custom_details: dict[str, Any] = Field(
        default_factory=dict,
        description=f"Anything else about the change. Objects and arrays nest at most "
        f"{MAX_DEPTH} levels deep in a change, the change itself being the first.",
        examples=[{"version": "2.14.0", "commit": "9f1c2ab"}],
    )


class ChangeIn(BaseModel):
    """One change, as PagerDuty's change events carry it (no routing key: yours is the
    ingest key; fields we don't use are ignored). NUL characters and unpaired surrogates
    (\\ud800 to \\udfff) in the summary, source, custom details and link texts are replaced
    with U+FFFD, with a note; in a link's address they refuse the change."""

    model_config = ConfigDict(extra="ignore")

    payload: ChangePayloadIn
    links: list[LinkIn] = Field(default_factory=list, max_length=MAX_LINKS)


@dataclass
class Judged:
    changes: list[ChangeIn] = field(default_factory=list)
    errors: list[ItemProblem] = field(default_factory=list)
    notes: list[ItemProblem] = field(default_factory=list)


def judge(items: list[Any], clean: bool, now: datetime) -> Judged:
    """Each change kept or refused. `clean`: the body can hold no string a store refuses
    (`parsing.Raw.clean`), so none is looked at."""
    judged = Judged()
    for index, item in enumerate(items):
        change = _judge(index, item, clean, now, judged)
        if change is not None:
            judged.changes.append(change)
    return judged


def _judge(index: int, item: Any, clean: bool, now: datetime, judged: Judged) -> ChangeIn | None:
    def refuse(where: str | None, words: str) -> None:
        judged.errors.append(ItemProblem(index=index, field=where, message=words))

    if not isinstance(item, dict):
        refuse(None, "A change is an object with a “payload” (and its “summary”).")
        return None
    deep = too_deep(item)
    if deep is not None:
        refuse(
            shown(deep),
            f"“{shown(deep)}” nests objects or arrays more than {MAX_DEPTH} levels deep "
            "(counting the change itself); flatten it, or send the deep part as text.",
        )
        return None
    repaired: list[str] = []
    if not clean:
        address = _unsendable_address(item)
        if address is not None:
            refuse(
                address,
                f"“{address}” holds a NUL character or an unpaired surrogate: it is not "
                "an address we can send on.",
            )
            return None
        item = _repaired(item, repaired)
    try:
        change = ChangeIn.model_validate(item)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(shown(str(part)) for part in first["loc"])
        if first["type"] == "missing":
            words = f"“{where}” is missing."
        elif first["type"] == "string_pattern_mismatch":
            words = f"“{where}” is not an http or https address."
        else:
            words = f"“{where}”: {first['msg']}."
        refuse(where, words)
        return None
    payload = change.payload
    if not payload.summary.strip():
        refuse("payload.summary", "“payload.summary” is blank.")
        return None
    if payload.timestamp is not None:
        stamp = _in_utc(payload.timestamp, now)
        if isinstance(stamp, str):
            refuse("payload.timestamp", stamp)
            return None
        payload.timestamp = stamp
    for where in dict.fromkeys(repaired):
        judged.notes.append(ItemProblem(index=index, field=where, message=REPAIRED))
    return change


def _in_utc(stamp: datetime, now: datetime) -> datetime | str:
    """`stamp` in UTC, or why it can't be taken, in words."""
    sent = stamp.isoformat()
    offset = stamp.utcoffset()
    if offset is not None and not EARLIEST_OFFSET <= offset <= LATEST_OFFSET:
        return (
            f"“payload.timestamp” ({sent}) has an offset no place uses: UTC offsets run "
            "from -12:00 to +14:00. Send the time in UTC (with Z)."
        )
    try:
        stamp = stamp.astimezone(UTC) if offset is not None else stamp.replace(tzinfo=UTC)
    except OverflowError:
        return f"“payload.timestamp” ({sent}) falls outside the years 1 to 9999 in UTC."
    ahead = (stamp - now).total_seconds()
    max_future = settings.INGEST_MAX_FUTURE.total_seconds()
    max_age = settings.INGEST_MAX_AGE.total_seconds()
    if not -max_age <= ahead <= max_future:
        shown_as = sent if offset is not None else stamp.isoformat()  # with its offset
        return out_of_bounds(shown_as, ahead, max_future, max_age, "changes")
    return stamp


def _links(item: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    links = item.get("links")
    if not isinstance(links, list):
        return []
    return [(number, link) for number, link in enumerate(links) if isinstance(link, dict)]


def _unsendable_address(item: dict[str, Any]) -> str | None:
    """The field of the first link address holding what can't be stored, if one does."""
    for number, link in _links(item):
        href = link.get("href")
        if isinstance(href, str) and storable(href, [], "") != href:
            return f"links.{number}.href"
    return None


def _repaired(item: dict[str, Any], repaired: list[str]) -> dict[str, Any]:
    """The change as sent, with the strings of the fields kept (but links' addresses) made
    storable, naming each field repaired in `repaired`. Before the model: it refuses an
    unpaired surrogate in a string it checks the length or form of."""
    item = dict(item)
    payload = item.get("payload")
    if isinstance(payload, dict):
        payload = item["payload"] = dict(payload)
        for name in ("summary", "source", "custom_details"):
            if name in payload:
                payload[name] = _storable_json(payload[name], repaired, f"payload.{name}")
    links = item.get("links")
    if isinstance(links, list):
        links = item["links"] = list(links)
        for number, link in _links(item):
            if isinstance(link.get("text"), str):
                text = storable(link["text"], repaired, f"links.{number}.text")
                links[number] = {**link, "text": text}
    return item


def _storable_json(value: Any, repaired: list[str], where: str) -> Any:
    """`value` with its keys and strings made storable. Recursive: the change was judged
    no deeper than MAX_DEPTH first."""
    if isinstance(value, str):
        return storable(value, repaired, where)
    if isinstance(value, list):
        return [_storable_json(child, repaired, where) for child in value]
    if isinstance(value, dict):
        return {
            storable(key, repaired, where): _storable_json(child, repaired, where)
            for key, child in value.items()
        }
    return value
