"""The two kinds of routing key PagerDuty's Events API v2 takes, told apart by their shape.

An Events API v2 integration key belongs to one service: 32 lowercase letters and digits.
An Event Orchestration routing key belongs to a global orchestration (or a Global
Integration, or a ruleset before them) and routes each event to a service by its rules:
"R" and 31 capital letters and digits, e.g. R022XIJR9M266DX570EVE6EXP1AFBN6D in PagerDuty's
REST reference. Both go as `routing_key` to POST /v2/enqueue; PagerDuty's Events API docs
say "change events cannot be sent to ruleset integration keys (these keys begin with the
character R)", so those services get alerts only. A service orchestration has no key of its
own: its events arrive through the service's integration keys.
"""

from __future__ import annotations

import re

from django.db import models

KEY_LENGTH = 32
INTEGRATION_KEY = re.compile(r"^[a-z0-9]{32}$")
ORCHESTRATION_KEY = re.compile(r"^R[A-Z0-9]{31}$")


class KeyKind(models.TextChoices):
    INTEGRATION = "integration", "Events API v2 integration key"
    ORCHESTRATION = "orchestration", "Event Orchestration routing key (global)"


def kind_of(key: str) -> KeyKind:
    """The kind of a stored key; anything not shaped like an orchestration key is taken as
    an integration key (keys of services connected through OAuth come from PagerDuty)."""
    return KeyKind.ORCHESTRATION if ORCHESTRATION_KEY.match(key) else KeyKind.INTEGRATION


def takes_change_events(key: str) -> bool:
    """PagerDuty refuses change events on keys that begin with R."""
    return kind_of(key) is KeyKind.INTEGRATION
