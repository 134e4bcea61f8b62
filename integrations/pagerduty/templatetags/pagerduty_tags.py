import json
from typing import Any

from django import template

from integrations.pagerduty import access_check, autoresolve
from integrations.pagerduty.left_open import LeftOpen, left_open_ids
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyAccount

register = template.Library()


@register.filter
def pprint_json(value: Any) -> str:
    """JSON indented for reading; the template escapes it."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


@register.filter
def sentence(value: str) -> str:
    """The text ending in one full stop: PagerDuty's and our errors may bring their own."""
    text = str(value).rstrip()
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."


@register.simple_tag
def left_open_of(delivery: Delivery | None, known: object = None) -> LeftOpen | None:
    """The incident a failed resolve left open in PagerDuty, if it did (`left_open`):
    `{% left_open_of d left_open as left %}`. `known`: what the page read once for its
    panels (`left_open_of_tests`), so no query; without it, one query. None, with no query,
    for any other delivery."""
    if delivery is None or delivery.status != Delivery.Status.FAILED:
        return None
    if delivery.event_action != EventAction.RESOLVE:
        return None
    if isinstance(known, dict):
        found = known.get(delivery.pk)
        return found if isinstance(found, LeftOpen) else None
    return left_open_ids(delivery.organization_id, [delivery.pk]).get(delivery.pk)


@register.filter
def panel_key(delivery: Delivery, incident: autoresolve.Incident | None) -> str:
    return autoresolve.panel_key(delivery, incident)


@register.filter
def scheduled_words(delivery: Delivery) -> str:
    """'at 14:32 UTC (in 10 minutes)' for a delivery that waits for its time, else ''."""
    return autoresolve.scheduled_words(delivery)


@register.filter
def failed_check(account: PagerDutyAccount) -> access_check.FailedCheck | None:
    """The account's last access check, if it could not reach PagerDuty since access was
    last confirmed (`{% with failed=account|failed_check %}`)."""
    return access_check.failed_check(account)
