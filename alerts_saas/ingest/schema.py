"""The ingest API's shapes, as published in its OpenAPI schema."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field

from alerts_saas.alerts.conditions import AttributeValue

# Objects and arrays nest at most this many levels in an event, the event being the first;
# a deeper event is refused alone.
MAX_DEPTH = 32


EVENT_DESCRIPTION = f"""One event. Fields we don't know are kept as attributes (objects and
arrays as their JSON text). Objects and arrays nest at most {MAX_DEPTH} levels deep in an
event, the event itself being the first: a deeper event is refused, alone. NUL characters
and unpaired surrogates (\\ud800 to \\udfff) in any text (`message`, `source`, `host`,
`app`, attributes, the names and values of fields we don't know) are replaced with U+FFFD
and the event kept, with a note naming the field; in `timestamp`, which is then no time,
they refuse the event."""


class EventIn(BaseModel):
    """One event, as sent (EVENT_DESCRIPTION says what is kept of it)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"additionalProperties": True, "description": EVENT_DESCRIPTION},
    )

    timestamp: datetime | None = Field(
        None,
        description="When it happened: ISO 8601 (UTC if no offset is given), or seconds "
        "or milliseconds since the Unix epoch. Defaults to when it arrives. At most 5 minutes "
        "ahead of our clock and 24 hours old (both configurable).",
    )
    source: str | None = Field(
        None,
        max_length=255,
        description="Where it happened: a host or service name.",
        examples=["web-1"],
    )
    host: str | None = Field(
        None, max_length=255, description="Taken as the source when `source` is not given."
    )
    app: str | None = Field(None, max_length=200, examples=["checkout"])
    level: str | None = Field(
        None,
        description="debug, info, notice, warning, error, critical, alert or emergency "
        "(also trace, warn, err, crit, fatal, emerg, panic; any case). Defaults to info.",
        examples=["error"],
    )
    message: str = Field(
        "",
        description=(
            f"Longer messages are cut at {settings.INGEST_MAX_MESSAGE_CHARS} characters, "
            "with a note in the response."
        ),
        examples=["Payment failed: card declined"],
    )
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict,
        description="Flat key/value pairs: strings, numbers, booleans.",
        examples=[{"region": "eu-west-1", "status": 502}],
    )


BATCH_LIMIT = (
    f"At most {settings.INGEST_MAX_BATCH:,} events: a longer batch is refused whole, "
    "with 413, like a body over the size limit."
)


class EventBatch(BaseModel):
    events: list[EventIn] = Field(
        min_length=1, max_length=settings.INGEST_MAX_BATCH, description=BATCH_LIMIT
    )


class ItemProblem(BaseModel):
    index: int = Field(description="The event's position in the batch, from 0.")
    field: str | None = Field(default=None, description="The field at fault, when there is one.")
    message: str


class IngestResult(BaseModel):
    accepted: int = Field(description="Events counted.")
    rejected: int = Field(description="Events refused; see `errors`.")
    errors: list[ItemProblem] = Field(description="Why each refused event was refused.")
    notes: list[ItemProblem] = Field(
        description="Changes made to accepted events, such as a message cut to size."
    )


class ErrorOut(BaseModel):
    message: str = Field(description="What went wrong, and what to do about it.")
