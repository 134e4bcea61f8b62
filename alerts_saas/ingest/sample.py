"""The sample event the product offers to send: the ingest keys page's curl command and the
API docs' example batch (which "Try it out" sends).

Sending it is real: it is counted like any other event, so it is one an organization's
ordinary alerts will not match (its own app, level info, a message saying where it came
from). An alert on every app still counts it; `alerts_counting` names those, so the page
says so before anyone sends it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from django.utils import timezone

from alerts_saas.alerts.matching import MatchIndex
from alerts_saas.alerts.models import MATCH_FIELDS, Alert
from alerts_saas.ingest.batch import judge
from alerts_saas.ingest.parsing import parse

APP = "tripwire-example"
LEVEL = "info"
MESSAGE = "Sent from the ingest keys page to try an ingest key"


def event(message: str = MESSAGE) -> dict[str, Any]:
    """The sample event as sent (no timestamp: the API stamps it when it arrives)."""
    return {"app": APP, "level": LEVEL, "message": message}


def batch_json() -> str:
    """The sample batch as the curl command sends it: compact JSON, no single quote (it
    goes between single quotes in a shell)."""
    return orjson.dumps([event()]).decode()


def example_batch(now: datetime) -> list[dict[str, Any]]:
    """The API docs' example: the sample with every kind of field, stamped `now` so that it
    is accepted when sent, never too old."""
    stamp = now.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    message = "Sent from the API docs to try an ingest key"
    return [{"timestamp": stamp, **event(message), "attributes": {"sent_from": "api-docs"}}]


# What an alert needs to be matched, and named.
_FIELDS = ("pk", "name", *MATCH_FIELDS)


def alerts_counting(organization_id: int) -> list[Alert]:
    """The organization's enabled alerts that would count the sample, by name: matched as
    ingestion matches (the sample judged as the API judges it, then the same index), from
    one query whatever the number of alerts."""
    events = judge(parse(batch_json().encode()), timezone.now()).events
    alerts = Alert.objects.filter(organization_id=organization_id, enabled=True).only(*_FIELDS)
    index = MatchIndex((alert, alert) for alert in alerts)
    found = {alert.pk: alert for sent in events for alert in index.matches(sent)}
    return sorted(found.values(), key=lambda alert: (alert.name.casefold(), alert.pk))
