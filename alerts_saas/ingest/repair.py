"""The careful side of judging events: strings a store refuses made storable, values fit
for stores and PagerDuty, and a model's validation errors in the words of the answer.

Only a body that orjson refused (lone surrogates, integers beyond 64 bits) or that holds an
escaped NUL needs its strings repaired; a clean body skips the repair (`batch.judge`). In such
a body one rule holds for every text of an event (message, source, host, app, attributes,
the names and values of unknown fields): NUL and unpaired surrogates become U+FFFD, with a
note naming the field. Only the timestamp, which is not text, is refused for them.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from alerts_saas.alerts.conditions import AttributeValue
from alerts_saas.ingest.schema import EventIn, ItemProblem

MAX_EXTRA_CHARS = 1000
UNPAIRED = "it holds an unpaired surrogate (\\ud800 to \\udfff)"
INT64 = range(-(2**63), 2**63)  # `in` on a range of ints is a comparison, not a scan
KNOWN = frozenset(EventIn.model_fields)
TEXT_FIELDS = frozenset({"message", "source", "host", "app"})


def problems(index: int, error: ValidationError) -> list[ItemProblem]:
    """A model's validation errors for the event at `index`, in the answer's words."""
    found = []
    for detail in error.errors(include_url=False, include_input=False):
        where = ".".join(shown(str(part)) for part in detail["loc"]) or None
        message = detail["msg"]
        if detail["type"] == "string_unicode":
            message = f"This value is not valid Unicode: {UNPAIRED}."
        found.append(ItemProblem(index=index, field=where, message=message))
    return found


def encodable(text: str) -> bool:
    """Whether `text` has no unpaired surrogate (only the standard parser lets one in)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(text: str) -> str:
    """`text` fit to be shown in an answer: NUL and unpaired surrogates written as the
    JSON escapes that sent them."""
    if "\x00" not in text and encodable(text):
        return text
    return "".join(
        f"\\u{ord(char):04x}" if char == "\x00" or "\ud800" <= char <= "\udfff" else char
        for char in text
    )


def clean_attributes(model: EventIn) -> dict[str, AttributeValue]:
    """The event's attributes and unknown fields, from a clean body: no string needs
    repair, so only integers beyond 64 bits and nested values are looked at."""
    attributes: dict[str, AttributeValue] = dict(model.attributes)
    for key, value in attributes.items():
        if type(value) is int and value not in INT64:
            attributes[key] = str(value)
    for key, value in (model.model_extra or {}).items():
        # Unknown fields are kept as attributes; explicit attributes win a clash.
        if key not in attributes:
            if type(value) is int and value not in INT64:
                value = str(value)
            elif not is_scalar(value):
                value = as_text(value)
            attributes[key] = value
    return attributes


def storable_event(
    item: dict[str, Any], repaired: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An event of a body that needs repair, split for the model: its known fields, the
    text ones made storable, and its unknown fields, left for `repaired_attributes`. The
    model refuses an unpaired surrogate in a string whose length it checks (source, host,
    app) and in an unknown field's name, so neither may reach it unrepaired."""
    known: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    for name, value in item.items():
        if name not in KNOWN:
            unknown[name] = value
        elif name in TEXT_FIELDS and type(value) is str:
            known[name] = storable(value, repaired, name)
        else:
            known[name] = value
    return known, unknown


def repaired_attributes(
    model: EventIn, unknown: dict[str, Any], repaired: list[str]
) -> dict[str, AttributeValue]:
    """The event's attributes and its `unknown` fields, each name and string made
    storable, each repair named in `repaired` by the field as it was sent."""
    attributes: dict[str, AttributeValue] = {}
    for key, value in model.attributes.items():
        where = f"attributes.{shown(key)}"
        attributes[storable(key, repaired, where)] = fit(value, repaired, where)
    for key, value in unknown.items():
        # Unknown fields are kept as attributes; explicit attributes win a clash.
        where = shown(key)
        key = storable(key, repaired, where)
        if key not in attributes:
            attributes[key] = (
                fit(value, repaired, where)
                if is_scalar(value)
                else storable(as_text(value), repaired, where)
            )
    return attributes


def storable(text: str, repaired: list[str], where: str) -> str:
    """`text` without what PostgreSQL and UTF-8 refuse: NUL, and lone surrogates (which
    only the standard parser lets through). Appends `where` to `repaired` when it changed
    anything."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
        repaired.append(where)
    if not encodable(text):
        text = "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)
        repaired.append(where)
    return text


def is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def fit(value: AttributeValue, repaired: list[str], where: str) -> AttributeValue:
    """Integers beyond 64 bits are kept as text: stores and PagerDuty take no bigger."""
    if isinstance(value, str):
        return storable(value, repaired, where)
    if isinstance(value, int) and not isinstance(value, bool) and value not in INT64:
        return str(value)
    return value


def as_text(value: Any) -> str:
    """An unknown field's object or array, kept as its JSON text (cut to size)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= MAX_EXTRA_CHARS else text[:MAX_EXTRA_CHARS] + "…"
