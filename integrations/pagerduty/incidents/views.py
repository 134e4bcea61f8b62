"""The webhook receiver: PagerDuty's POST for one of our subscriptions."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.pagerduty.incidents import signatures
from integrations.pagerduty.incidents.models import (
    TOKEN_SHAPE,
    IncidentActivity,
    WebhookSubscription,
)
from integrations.pagerduty.incidents.retention import max_webhook_age
from integrations.pagerduty.incidents.tasks import apply_activity

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024  # PagerDuty sends at most 256 KB (webhooks' "Size Limit")


def _answer(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


@csrf_exempt
@require_POST
def receive(request: HttpRequest, token: str) -> HttpResponse:
    """Check the signature on the raw body before reading anything; keep the event once (by
    the signed body's `event.id`: `X-Webhook-Id` is signed by nothing) unless it is older
    than PagerDuty ever retries one, and apply it in a task; answer at once.

    What is signed but not taken is answered 202 with the reason: PagerDuty drops a webhook
    at any other 4xx, and three in a row disable the subscription."""
    rows = WebhookSubscription.objects.only("pk", "organization_id", "secret")
    # A token no subscription can have is unknown without asking (a NUL: PostgreSQL's error).
    known = TOKEN_SHAPE.fullmatch(token) is not None
    subscription = rows.filter(token=token).first() if known else None
    body = request.body if len(request.body) <= MAX_BODY else b""
    header = request.headers.get("X-PagerDuty-Signature", "")
    if subscription is None or not body or not signatures.verify(subscription.secret, body, header):
        log.info("PagerDuty webhook refused: unknown subscription or bad signature")
        return _answer(401, "The signature does not match this subscription.")
    try:
        event = json.loads(body)["event"]
        kind = str(event["event_type"])
        event_id = str(event.get("id") or "")
        occurred_at = parse_datetime(str(event["occurred_at"]))
        incident_id = _incident_id(event["data"])
    except (ValueError, KeyError, TypeError):
        return _answer(400, "The body is not a webhooks v3 event.")
    if occurred_at is None or not incident_id or kind not in IncidentActivity.Kind.values:
        # Signed by PagerDuty but nothing we follow (e.g. a ping): accepted, ignored.
        return _answer(202, "Accepted; nothing to do for this event.")
    if not event_id:  # signed, so answered 202: a 4xx would count toward disabling it
        log.info("PagerDuty webhook not applied: its event carries no id")
        return _answer(
            202, "Not applied: the event carries no id, so a replay of it couldn't be told apart."
        )
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at, UTC)
    max_age = max_webhook_age()
    if occurred_at < timezone.now() - max_age:
        log.info("PagerDuty webhook not applied: its event is older than %s", max_age)
        hours = int(max_age.total_seconds() // 3600)
        return _answer(
            202,
            f"Not applied: the event happened more than {hours} hours ago (PagerDuty retries "
            "a webhook for 48 hours at most); an event this old is taken for a replay.",
        )
    if not _keep(subscription, event_id, kind, incident_id, occurred_at, event):
        return _answer(202, "Already received.")
    return _answer(202, "Accepted.")


def _incident_id(data: object) -> str:
    """The incident an event is about: `data` is the incident, or names it (a note)."""
    if not isinstance(data, dict):
        return ""
    if data.get("type") == "incident":
        return str(data.get("id") or "")
    incident = data.get("incident")
    return str(incident.get("id") or "") if isinstance(incident, dict) else ""


def _keep(
    subscription: WebhookSubscription,
    event_id: str,
    kind: str,
    incident_id: str,
    occurred_at: datetime,
    event: dict[str, object],
) -> bool:
    """Store the event once; False when this event id was already stored."""
    try:
        with transaction.atomic():
            activity = IncidentActivity.objects.create(
                organization_id=subscription.organization_id,
                subscription=subscription,
                event_id=event_id[:100],
                kind=kind,
                pd_incident_id=incident_id[:32],
                occurred_at=occurred_at,
                data=event,
            )
            WebhookSubscription.objects.filter(pk=subscription.pk).update(
                last_received_at=timezone.now()
            )
            transaction.on_commit(lambda: apply_activity.delay(activity.pk))
    except IntegrityError:
        return False
    return True
