"""An event as a trigger's custom details and the alert page show it (`Event.summary`):
small and bounded, whatever the sender sent."""

from __future__ import annotations

import orjson

from alerts_saas.alerts.conditions import (
    SUMMARY_ATTRIBUTES,
    SUMMARY_MESSAGE_CHARS,
    SUMMARY_TEXT_CHARS,
    Event,
)
from alerts_saas.alerts.models import Level


def shown(event: Event) -> dict[str, object]:
    summary: dict[str, object] = orjson.loads(event.summary())
    return summary


def test_a_usual_event_is_shown_whole():
    attributes = {"region": "eu-west-1", "status": 503, "retry": True, "ratio": 0.5, "x": None}
    event = Event(
        timestamp=1_796_000_000.25,
        message="Timeout talking to postgres",
        source="web-1",
        app="checkout",
        level=Level.ERROR,
        attributes=attributes,
    )
    assert shown(event) == {
        "timestamp": "2026-11-30T00:53:20.250000+00:00",
        "level": "error",
        "message": "Timeout talking to postgres",
        "source": "web-1",
        "app": "checkout",
        "attributes": attributes,
    }


def test_long_names_and_texts_are_cut_and_only_the_first_attributes_kept():
    long_name, long_text = "k" * 150, "v" * 150
    event = Event(
        timestamp=1_796_000_000.0,
        message="m" * 400,
        attributes={long_name: "short", "note": long_text, "count": 7},
    )
    summary = shown(event)
    assert summary["message"] == "m" * SUMMARY_MESSAGE_CHARS + "…"
    assert summary["attributes"] == {
        "k" * SUMMARY_TEXT_CHARS: "short",
        "note": "v" * SUMMARY_TEXT_CHARS,
        "count": 7,
    }
    assert "source" not in summary and "app" not in summary

    many = {f"a{n}": n for n in range(SUMMARY_ATTRIBUTES + 5)}
    summary = shown(Event(timestamp=1_796_000_000.0, attributes=many))
    assert summary["attributes"] == {f"a{n}": n for n in range(SUMMARY_ATTRIBUTES)}


def test_texts_of_exactly_the_limit_are_kept_whole():
    edge = {"n" * SUMMARY_TEXT_CHARS: "t" * SUMMARY_TEXT_CHARS}
    assert shown(Event(timestamp=1_796_000_000.0, attributes=edge))["attributes"] == edge
