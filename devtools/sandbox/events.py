"""events.pagerduty.com / events.eu.pagerduty.com stand-in (Events API v2)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from .context import store
from .orchestrations import ROUTING_KEY, Orchestration
from .state import Integration, ReceivedEvent, utcnow

bp = Blueprint("events", __name__, url_prefix="/events/<any(us, eu):region>")

# "Events API payloads are limited to 512 KB"; PagerDuty's KB is 1024 bytes
# (the webhooks docs spell out "55 KB (56320 bytes)").
MAX_BODY_BYTES = 512 * 1024
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
NO_SUCH_KEY = "Invalid routing key: no integration with this key in this region."
# "Currently, change events cannot be sent to ruleset integration keys (these keys begin
# with the character R)" (Events API v2 overview).
NO_CHANGES_ON_R_KEYS = (
    "Change events cannot be sent to an Event Orchestration or ruleset routing key "
    "(keys that begin with R); send them with a service's integration key."
)


@bp.url_value_preprocessor
def _pull_region(endpoint: str | None, values: dict[str, Any] | None) -> None:
    g.region = (values or {}).pop("region", "us")


def _reply(event: ReceivedEvent, status: int, body: dict[str, Any]) -> Response:
    event.status_code, event.response = status, body
    response = jsonify(body)
    response.status_code = status
    return response


def _invalid(event: ReceivedEvent, errors: list[str]) -> Response:
    event.outcome = "rejected"
    return _reply(
        event,
        400,
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
    )


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str) or ("T" not in value.upper() and " " not in value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_optional_string(obj: dict[str, Any], key: str, label: str, errors: list[str]) -> None:
    if key in obj and not isinstance(obj[key], str):
        errors.append(f"'{label}' must be a string.")


def _check_links_images(body: dict[str, Any], errors: list[str]) -> None:
    if "links" in body:
        links = body["links"]
        if not isinstance(links, list):
            errors.append("'links' must be an array.")
        else:
            for i, link in enumerate(links):
                if (
                    not isinstance(link, dict)
                    or not isinstance(link.get("href"), str)
                    or not link["href"]
                ):
                    errors.append(f"'links[{i}].href' is missing or blank.")
                elif "text" in link and not isinstance(link["text"], str):
                    errors.append(f"'links[{i}].text' must be a string.")
    if "images" in body:
        images = body["images"]
        if not isinstance(images, list):
            errors.append("'images' must be an array.")
        else:
            for i, image in enumerate(images):
                if (
                    not isinstance(image, dict)
                    or not isinstance(image.get("src"), str)
                    or not image["src"]
                ):
                    errors.append(f"'images[{i}].src' is missing or blank.")
                    continue
                for key in ("href", "alt"):
                    if key in image and not isinstance(image[key], str):
                        errors.append(f"'images[{i}].{key}' must be a string.")


def _check_summary(payload: dict[str, Any], errors: list[str]) -> None:
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors.append("'payload.summary' is missing or blank.")
    elif len(summary) > MAX_SUMMARY:
        errors.append(
            f"'payload.summary' is too long ({len(summary)} characters; "
            f"the maximum is {MAX_SUMMARY})."
        )


def _check_common_payload(payload: dict[str, Any], errors: list[str]) -> None:
    if "timestamp" in payload and not _is_timestamp(payload["timestamp"]):
        errors.append("'payload.timestamp' must be an ISO 8601 timestamp.")
    if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
        errors.append("'payload.custom_details' must be an object.")


def _validate_alert(body: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    action = body.get("event_action")
    if action is None or action == "":
        errors.append("'event_action' is missing or blank.")
    elif action not in EVENT_ACTIONS:
        errors.append("'event_action' must be one of trigger, acknowledge or resolve.")
    dedup_key = body.get("dedup_key")
    if dedup_key is not None:
        if not isinstance(dedup_key, str):
            errors.append("'dedup_key' must be a string.")
        elif len(dedup_key) > MAX_DEDUP_KEY:
            errors.append(
                f"'dedup_key' is too long ({len(dedup_key)} characters; "
                f"the maximum is {MAX_DEDUP_KEY})."
            )
    if action in ("acknowledge", "resolve") and not dedup_key:
        errors.append(f"'dedup_key' is required for {action} events.")
    if action == "trigger":
        payload = body.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object.")
        else:
            _check_summary(payload, errors)
            source = payload.get("source")
            if not isinstance(source, str) or not source.strip():
                errors.append("'payload.source' is missing or blank.")
            severity = payload.get("severity")
            if severity not in SEVERITIES:
                errors.append("'payload.severity' must be one of critical, error, warning or info.")
            _check_common_payload(payload, errors)
            for key in ("component", "group", "class"):
                _check_optional_string(payload, key, f"payload.{key}", errors)
        for key in ("client", "client_url"):
            _check_optional_string(body, key, key, errors)
    _check_links_images(body, errors)
    return errors


def _validate_change(body: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    payload = body.get("payload")
    if not isinstance(payload, dict):
        errors.append("'payload' is missing or not an object.")
    else:
        _check_summary(payload, errors)
        _check_optional_string(payload, "source", "payload.source", errors)
        _check_common_payload(payload, errors)
    _check_links_images(body, errors)
    return errors


def _receive(kind: str) -> Response:
    st = store()
    host = f"events-{g.region}"
    data = request.get_data(cache=True)
    event = st.new_event(
        host=host,
        kind=kind,
        path=request.path,
        received_at=g.get("received_at") or utcnow(),
        raw=data.decode("utf-8", errors="replace"),
        body=None,
    )
    if len(data) > MAX_BODY_BYTES:
        return _invalid(
            event,
            [
                f"Event object is too large ({len(data)} bytes; "
                f"the limit is 512 KB = {MAX_BODY_BYTES} bytes)."
            ],
        )
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        event.outcome = "rejected"
        return _reply(
            event,
            400,
            {
                "status": "Unrecognized object",
                "message": "Event object format is unrecognized",
                "errors": ["JSON parse error"],
            },
        )
    event.body = body
    routing_key = body.get("routing_key")
    event.routing_key = routing_key if isinstance(routing_key, str) else None
    event.event_action = (
        body.get("event_action") if isinstance(body.get("event_action"), str) else None
    )
    event.dedup_key = body.get("dedup_key") if isinstance(body.get("dedup_key"), str) else None
    if not isinstance(routing_key, str) or not routing_key:
        return _invalid(event, ["'routing_key' is missing or blank."])
    found = _find(event, kind, routing_key)
    if isinstance(found, Response):
        return found
    cfg = st.config
    decision = st.limiter.hit(
        f"events:{routing_key}", cfg.events_rate_limit, cfg.events_rate_window
    )
    if not decision.allowed:
        event.outcome = "rate limited"
        return _reply(
            event,
            429,
            {
                "status": "Request Limit Exceeded",
                "message": "Too many events for this integration key; retry later.",
                "errors": ["429 - Request Limit Exceeded"],
            },
        )
    errors = _validate_alert(body) if kind == "alert" else _validate_change(body)
    if errors:
        return _invalid(event, errors)
    if kind == "change":
        event.outcome = "change event stored"
        return _reply(event, 202, {"status": "success", "message": "Change event processed"})
    if event.event_action == "trigger" and not event.dedup_key:
        event.dedup_key = uuid.uuid4().hex
    integration = found if isinstance(found, Integration) else st.routed_integration(found)
    if integration is None:
        event.outcome = "unrouted: the orchestration's router sends it to no service"
    else:
        _attach(event, integration)
        st.apply_alert_event(integration, event, body.get("payload") or {})
    return _reply(
        event,
        202,
        {"status": "success", "message": "Event processed", "dedup_key": event.dedup_key},
    )


def _find(
    event: ReceivedEvent, kind: str, routing_key: str
) -> Integration | Orchestration | Response:
    """What the key belongs to: a service's integration, or an Event Orchestration (keys
    that begin with R), which takes alert events only; a 400 answer when neither."""
    st = store()
    if ROUTING_KEY.match(routing_key):
        orchestration = st.orchestration_for_key(routing_key, g.region)
        if orchestration is None:
            return _invalid(event, [NO_SUCH_KEY])
        event.account_id = orchestration.account_id
        event.integration_id = orchestration.integration_id
        if kind == "change":
            return _invalid(event, [NO_CHANGES_ON_R_KEYS])
        return orchestration
    integration = st.integration_for_key(routing_key, g.region)
    if integration is None:
        return _invalid(event, [NO_SUCH_KEY])
    _attach(event, integration)
    return integration


def _attach(event: ReceivedEvent, integration: Integration) -> None:
    event.integration_id = integration.id
    event.service_id = integration.service_id
    event.account_id = integration.account_id


@bp.post("/v2/enqueue")
def enqueue() -> Response:
    """Alert events: trigger, acknowledge, resolve."""
    return _receive("alert")


@bp.post("/v2/change/enqueue")
def change_enqueue() -> Response:
    """Change events (never create alerts)."""
    return _receive("change")
