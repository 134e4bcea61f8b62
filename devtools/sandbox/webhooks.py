"""REST ``/webhook_subscriptions``: create, list, get, update, delete, enable, ping.

Routes live on the REST blueprint (``rest.bp``) so they share its authentication, rate limit,
Accept and scope checks. Delivery itself is ``delivery.WebhookSender``.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Response, request

from .context import sandbox, store
from .resources import WEBHOOK_EVENT_TYPES, webhook_subscription_json
from .rest import _json, _json_body, _paginate, _principal, bp, invalid, not_found
from .state import Account, WebhookSubscription, utcnow

FILTER_TYPES = ("account_reference", "service_reference", "team_reference")


def _check_events(events: Any, errors: list[str]) -> list[str]:
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        errors.append("'events' must be a non-empty list of event types.")
        return []
    if len(set(events)) != len(events):
        errors.append("'events' must not contain duplicates.")
    unknown = sorted(set(events) - WEBHOOK_EVENT_TYPES)
    if unknown:
        errors.append(f"Unknown event types: {', '.join(unknown)}.")
    return list(events)


def _check_filter(filter_: Any, account: Account, errors: list[str]) -> dict[str, Any]:
    if not isinstance(filter_, dict) or filter_.get("type") not in FILTER_TYPES:
        errors.append(
            "'filter.type' must be account_reference, service_reference or team_reference."
        )
        return {}
    if filter_["type"] != "account_reference":
        st = store()
        target = (st.services if filter_["type"] == "service_reference" else st.teams).get(
            filter_.get("id") or ""
        )
        if target is None or target.account_id != account.id:
            errors.append(
                f"'filter.id' must be the id of a {filter_['type'][:-10]} on this account."
            )
    clean = {"type": filter_["type"]}
    if filter_.get("id") or filter_["type"] != "account_reference":
        clean["id"] = filter_.get("id") or account.id
    return clean


def _check_headers(delivery: dict[str, Any], errors: list[str]) -> list[dict[str, str]]:
    raw_headers = delivery.get("custom_headers") or []
    if not isinstance(raw_headers, list) or not all(
        isinstance(h, dict) and isinstance(h.get("name"), str) and isinstance(h.get("value"), str)
        for h in raw_headers
    ):
        errors.append("'delivery_method.custom_headers' must be a list of {name, value}.")
        return []
    headers = [{"name": h["name"], "value": h["value"]} for h in raw_headers]
    if len({h["name"].lower() for h in headers}) != len(headers):
        errors.append("Custom header names must be unique.")
    return headers


def _validate_subscription(spec: Any, account: Account) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise invalid("'webhook_subscription' is required and must be an object.")
    errors: list[str] = []
    if spec.get("type") != "webhook_subscription":
        errors.append("'type' must be 'webhook_subscription'.")
    delivery = spec.get("delivery_method")
    url = ""
    headers: list[dict[str, str]] = []
    if not isinstance(delivery, dict):
        errors.append("'delivery_method' is required.")
    else:
        if delivery.get("type") != "http_delivery_method":
            errors.append("'delivery_method.type' must be 'http_delivery_method'.")
        url = str(delivery["url"]) if isinstance(delivery.get("url"), str) else ""
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            errors.append("'delivery_method.url' must be an absolute http(s) URL.")
        headers = _check_headers(delivery, errors)
    events = _check_events(spec.get("events"), errors)
    clean_filter = _check_filter(spec.get("filter"), account, errors)
    description = spec.get("description", "")
    if not isinstance(description, str):
        errors.append("'description' must be a string.")
    active = spec.get("active", True)
    if not isinstance(active, bool):
        errors.append("'active' must be a boolean.")
    if errors:
        raise invalid(*errors)
    return {
        "url": url,
        "custom_headers": headers,
        "events": events,
        "filter": clean_filter,
        "description": description,
        "active": active,
    }


@bp.post("/webhook_subscriptions", endpoint="create_webhook_subscription")
def create_webhook_subscription() -> Response:
    st = store()
    account = _principal().account
    clean = _validate_subscription(_json_body().get("webhook_subscription"), account)
    with st.lock:
        sub = WebhookSubscription(
            id=st.ids.object_id(),
            account_id=account.id,
            delivery_method_id=st.ids.object_id(),
            secret=secrets.token_urlsafe(48),
            created_at=utcnow(),
            **clean,
        )
        st.webhook_subscriptions[sub.id] = sub
    # REST.openapi.json documents 200 (not 201) for this operation.
    return _json({"webhook_subscription": webhook_subscription_json(sub, created=True)})


@bp.get("/webhook_subscriptions", endpoint="list_webhook_subscriptions")
def list_webhook_subscriptions() -> Response:
    st = store()
    account = _principal().account
    with st.lock:
        subs = [s for s in st.webhook_subscriptions.values() if s.account_id == account.id]
    filter_type = request.args.get("filter_type")
    if filter_type is not None:
        if filter_type not in {"account", "service", "team"}:
            raise invalid("'filter_type' must be account, service or team.")
        subs = [s for s in subs if s.filter["type"] == f"{filter_type}_reference"]
        filter_id = request.args.get("filter_id")
        if filter_type in {"service", "team"} and not filter_id:
            raise invalid("'filter_id' is required when filter_type is service or team.")
        if filter_id:
            subs = [s for s in subs if s.filter.get("id") == filter_id]
    subs.sort(key=lambda s: s.created_at)
    page, meta = _paginate(subs)
    with st.lock:
        body = [webhook_subscription_json(s) for s in page]
    return _json({"webhook_subscriptions": body, **meta})


def _subscription(subscription_id: str) -> WebhookSubscription:
    sub = store().webhook_subscriptions.get(subscription_id)
    if sub is None or sub.account_id != _principal().account.id:
        raise not_found()
    return sub


@bp.get("/webhook_subscriptions/<subscription_id>", endpoint="get_webhook_subscription")
def get_webhook_subscription(subscription_id: str) -> Response:
    sub = _subscription(subscription_id)
    with store().lock:
        return _json({"webhook_subscription": webhook_subscription_json(sub)})


@bp.put("/webhook_subscriptions/<subscription_id>", endpoint="update_webhook_subscription")
def update_webhook_subscription(subscription_id: str) -> Response:
    """Only events, filter, active and description change; never the delivery method."""
    st = store()
    sub = _subscription(subscription_id)
    spec = _json_body().get("webhook_subscription")
    if not isinstance(spec, dict):
        raise invalid("'webhook_subscription' is required and must be an object.")
    errors: list[str] = []
    if "delivery_method" in spec:
        errors.append("The delivery_method of a webhook subscription cannot be updated.")
    if spec.get("oauth_client_id") is not None:
        errors.append("OAuth clients for webhook subscriptions are not part of the sandbox.")
    changes: dict[str, Any] = {}
    if "events" in spec:
        changes["events"] = _check_events(spec["events"], errors)
    if "filter" in spec:
        changes["filter"] = _check_filter(spec["filter"], _principal().account, errors)
    for key, kind in (("active", bool), ("description", str)):
        if key in spec:
            if not isinstance(spec[key], kind):
                errors.append(f"'{key}' must be a {kind.__name__}.")
            changes[key] = spec[key]
    if errors:
        raise invalid(*errors)
    with st.lock:
        for key, value in changes.items():
            setattr(sub, key, value)
        return _json({"webhook_subscription": webhook_subscription_json(sub)})


@bp.delete("/webhook_subscriptions/<subscription_id>", endpoint="delete_webhook_subscription")
def delete_webhook_subscription(subscription_id: str) -> Response:
    st = store()
    sub = _subscription(subscription_id)
    with st.lock:
        st.webhook_subscriptions.pop(sub.id, None)
    return Response(status=204)


@bp.post("/webhook_subscriptions/<subscription_id>/enable", endpoint="enable_webhook_subscription")
def enable_webhook_subscription(subscription_id: str) -> Response:
    """Undo the temporary disabling that repeated delivery failures cause."""
    st = store()
    sub = _subscription(subscription_id)
    with st.lock:
        sub.active, sub.temporarily_disabled = True, False
        sub.disabled_until, sub.consecutive_failures = None, 0
        return _json({"webhook_subscription": webhook_subscription_json(sub)})


@bp.post("/webhook_subscriptions/<subscription_id>/ping", endpoint="ping_webhook_subscription")
def ping_webhook_subscription(subscription_id: str) -> Response:
    """Queue a ``pagey.ping`` webhook to the subscription; 202 with no body."""
    sandbox().webhooks.ping(_subscription(subscription_id))
    return Response(status=202)
