"""A delivery in the words a person on call reads: "Trigger delivered at 03:12:09",
"Resolve: 2 attempts failed (PagerDuty answered 503) · next try at 03:12:40"."""

from __future__ import annotations

from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from alerts_saas.accounts.times import time_html
from integrations.pagerduty.models import Delivery


def retry_words(delivery: Delivery, action: str) -> SafeString:
    """E.g. "Trigger: 3 attempts failed (PagerDuty answered 500) · next try at 02:18:56":
    what went wrong (only the last answer is kept) and when it is tried again."""
    failed = delivery.failed_attempts
    if delivery.status == Delivery.Status.SENDING:
        nxt = format_html("{}", "trying again now")
    elif delivery.next_attempt_at > timezone.now():
        nxt = format_html("next try at {}", time_html(delivery.next_attempt_at, "H:i:s"))
    else:
        nxt = format_html("{}", "next try due now")
    return format_html(
        "{}: {} attempt{} failed ({}) · {}",
        action,
        failed,
        pluralize(failed),
        delivery.last_answer,
        nxt,
    )


def delivery_words(delivery: Delivery, action: str) -> SafeString:
    """E.g. "Trigger delivered at 03:12:09", "Resolve: 2 attempts failed (PagerDuty
    answered 503) · next try at 03:12:40", "Trigger failed: Invalid routing key"; times
    in the person's zone."""
    if delivery.status == Delivery.Status.DELIVERED:
        when = delivery.delivered_at or delivery.created_at
        return format_html("{} delivered at {}", action, time_html(when, "H:i:s"))
    if delivery.status == Delivery.Status.FAILED:
        return format_html("{} failed: {}", action, delivery.last_error or "refused by PagerDuty")
    if delivery.failed_attempts > 0 and delivery.last_error:
        return retry_words(delivery, action)
    if delivery.status == Delivery.Status.SENDING:
        return format_html("{} sending", action)
    return format_html("{} queued", action)
