"""The PagerDuty integration's models: connected accounts and their services
(`accounts`), and the events sent to the Events API (`deliveries`)."""

from integrations.pagerduty.models.accounts import (
    PagerDutyAccount,
    PagerDutyService,
    Region,
    integration_key_digest,
)
from integrations.pagerduty.models.deliveries import Delivery, EventAction, Reason, retrying

__all__ = [
    "Delivery",
    "EventAction",
    "PagerDutyAccount",
    "PagerDutyService",
    "Reason",
    "Region",
    "integration_key_digest",
    "retrying",
]
