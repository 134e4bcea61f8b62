"""The management API's history shapes (services, firings, deliveries), as published in
the OpenAPI document: read-only answers, apart from the alert shapes in `schemas`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from alerts_saas.api.schemas import DELIVERY_REASONS, HistoryPageOut, PageOut, Severity


class ServiceHealthOut(BaseModel):
    code: Literal["ok", "unconfirmed", "failing", "reconnect", "refused"]
    label: str
    words: str
    since: datetime | None


class ServiceOut(BaseModel):
    id: int
    name: str
    region: str
    pagerduty_service_id: str = Field(description="Empty for a service added by its key.")
    account: str | None = Field(description="Its PagerDuty account; null when added by key.")
    html_url: str
    is_fallback: bool
    masked_key: str = Field(description="The integration key, masked.")
    health: ServiceHealthOut
    created_at: datetime


class ServicePage(PageOut):
    items: list[ServiceOut]


class FiringOut(BaseModel):
    id: int
    alert_id: int
    alert_name: str
    group: str = Field(
        description="The value this firing counts, for an alert with `group_by` (e.g. a "
        "host); empty otherwise."
    )
    severity: Severity | Literal[""] = Field(description="The severity it paged with.")
    opened_at: datetime
    count_at_open: int
    is_open: bool
    held: bool = Field(
        description="Opened while a mute window held it: recorded, its muted services not "
        "paged yet (they are paged when the mute ends, if it is still open)."
    )
    held_until: datetime | None = Field(
        description="For a held open firing: when its held services are paged if it is still "
        "open, the end of the mute holding it now (windows that meet or overlap count as one "
        "mute). Null if it is not held, cleared, or once no window holds it any more (it then "
        "pages within seconds). One whose condition cleared (`condition_cleared_at`) pages "
        "nobody then: it waits to be resolved."
    )
    held_by: list[int] = Field(
        description="For a held open firing: the ids of the mute windows holding it now (of "
        "its alert, or of a service it pages; see /mute-windows/{id}); empty otherwise."
    )
    condition_cleared_at: datetime | None = Field(
        description="For an alert with `auto_resolve` false: when its condition cleared; "
        "the firing stays open until a person resolves it."
    )
    cleared_at: datetime | None
    clear_reason: str = Field(
        description="cleared, disabled, edited, deleted, resolved (in Tripwire, by hand), "
        "incident (resolved in PagerDuty) or forgotten (the value was no longer seen); "
        "empty if open."
    )
    cleared_by: str | None = Field(
        description="Who resolved it in Tripwire (their email); null otherwise, and when an "
        "API token resolved it (`cleared_by_token` names the token)."
    )
    cleared_by_token: str | None = Field(
        description="For a firing resolved through this API (`POST /firings/{id}/resolve`, "
        "`POST /alerts/{id}/stop-watching`): the name of the API token that resolved it. "
        "Null otherwise, or once that token is deleted.",
    )
    count_at_clear: int | None
    paged: bool = Field(
        description="Whether PagerDuty accepted a trigger of it (to one of its services, or "
        "to the organization's fallback): someone was paged. False while its trigger is on "
        "its way, while a mute holds it, and when nobody was paged (`paging`)."
    )
    paging: Literal[
        "paged",
        "paged_via_fallback",
        "not_paged_yet",
        "held",
        "missed",
        "not_confirmed",
        "nothing_sent",
    ] = Field(
        description="What became of its page: `paged`; `paged_via_fallback` (PagerDuty took "
        "only the fallback's trigger); `not_paged_yet` (a trigger is still being sent or "
        "retried); `held` (a mute holds it); `missed` (nobody was paged: PagerDuty refused "
        "every trigger outright, with a 4xx answer other than 429); `not_confirmed` (PagerDuty "
        "accepted none, and one was given up on without a refusal: timeouts, 5xx or 429 until "
        "retries ran out; PagerDuty may have taken it, so it may not have paged anyone); "
        "`nothing_sent` (its alert had no service). Clients should treat values they do not "
        "know as not paged."
    )


class FiringPage(HistoryPageOut):
    items: list[FiringOut]


class DeliveryOut(BaseModel):
    id: int
    alert_id: int | None
    firing_id: int | None
    service_id: int | None = Field(description="Null once the service is removed.")
    service_name: str
    event_action: str
    dedup_key: str
    reason: str = Field(description=DELIVERY_REASONS)
    is_test: bool
    status: Literal["queued", "sending", "delivered", "failed"]
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When queued: the next attempt.")
    response_status: int | None
    response_message: str
    last_error: str
    body: dict[str, Any] = Field(description="The event as sent, without its routing key.")
    created_by_token: str | None = Field(
        default=None,
        description="For a resolve asked for through this API (`POST /firings/{id}/resolve`, "
        "`POST /alerts/{id}/stop-watching`): the name of the API token that asked. Null "
        "otherwise, or once that token is deleted.",
    )


class DeliveryPage(HistoryPageOut):
    items: list[DeliveryOut]
