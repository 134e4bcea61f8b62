"""Field types the management API's bodies and query filters share, so that each is refused
the same way (400, naming the field) wherever it is taken."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StrictInt, StringConstraints
from pydantic_core import PydanticCustomError

from alerts_saas.ids import MAX_ID
from integrations.pagerduty.models import PagerDutyService

WHO_PATTERN = r"^(user:[0-9]{1,18}|token:[0-9]{1,18}|system)?$"


def _no_nul(value: str) -> str:
    """400 in words, not PostgreSQL's refusal of a NUL in text (a 500): no text Tripwire
    keeps has one (ingest keeps an event's NUL as U+FFFD), so none could match."""
    if "\x00" in value:
        raise PydanticCustomError(
            "nul_character",
            "can't contain a NUL character (\\u0000): Tripwire keeps an event's NUL as "
            "U+FFFD (�), so send the value with U+FFFD in its place, as the alert page "
            "shows it",
        )
    return value


def _who(value: str) -> str:
    if not re.fullmatch(WHO_PATTERN, value):
        raise PydanticCustomError(
            "who_unknown",
            'is not someone we can look for: send "user:<id>" (a person), "token:<id>" '
            '(an API token) or "system", or leave it out for everyone',
        )
    return value


# A string with no NUL character: a query filter compared with what PostgreSQL keeps.
NoNul = Annotated[str, AfterValidator(_no_nul)]

# A PagerDuty service id ("P…"), as a connected service keeps it; the length is judged
# before the NUL, so that its refusal speaks of characters.
PagerDutyServiceId = Annotated[
    str,
    StringConstraints(max_length=PagerDutyService._meta.get_field("pd_service_id").max_length),
    AfterValidator(_no_nul),
]

# Who made a change, as /activity filters it; anything else would list everyone.
Who = Annotated[str, AfterValidator(_who), Field(json_schema_extra={"pattern": WHO_PATTERN})]


def _id(value: int) -> int:
    """400 in words for a number no row can have: beyond a bigint it was PostgreSQL's (or
    SQLite's) overflow, a 500."""
    if not 1 <= value <= MAX_ID:
        raise PydanticCustomError(
            "id_out_of_range",
            "is not an id Tripwire gives: ids are whole numbers from 1 to {most}",
            {"most": MAX_ID},
        )
    return value


_ID_RANGE = Field(json_schema_extra={"minimum": 1, "maximum": MAX_ID})

# A row's id in a query filter (`?alert_id=`): a whole number, from 1 to MAX_ID.
Id = Annotated[int, AfterValidator(_id), _ID_RANGE]

# A row's id in a JSON body (`targets`, a mute's `alert_id`): a JSON number, in that range.
BodyId = Annotated[StrictInt, AfterValidator(_id), _ID_RANGE]
