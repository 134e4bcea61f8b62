"""The management API's shapes, as published in the OpenAPI document.

Types only: the rules (lengths, bounds, a service of yours, a name not taken) are the alert
form's, checked by the form itself (`definitions.py`), so that they read the same here as
on the page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from alerts_saas.alerts.models import DEFAULT_SOURCE, DEFAULT_SUMMARY, MAX_WINDOW_MINUTES, Level
from alerts_saas.api import lengths
from alerts_saas.api.fields import BodyId
from integrations.pagerduty.models import Reason

LevelName = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
LEVELS: dict[str, int] = {label: value for value, label in Level.choices}
Severity = Literal["critical", "error", "warning", "info"]
Kind = Literal["presence", "absence"]
GroupByName = Literal["source", "app", "attribute"]
# From the choices, so that a reason added there is documented here.
DELIVERY_REASONS = (
    "Why it was sent: empty for a firing's own trigger; otherwise "
    + ", ".join(f"{code} ({words.removeprefix(f'{code}: ')})" for code, words in Reason.choices)
    + ". fallback marks a trigger (to the fallback service), the others a resolve: one sent as "
    "its firing cleared has the firing's clear_reason (by_hand for resolved)."
)
GROUPING_HELP = (
    "Count separately for each value of this field: one firing, and one PagerDuty incident, "
    "per source (or host), app or attribute value; null counts all matching events together."
)


class Closed(BaseModel):
    """A body with a field we don't know is refused, naming it: a misspelt field is never
    silently ignored. A string bound makes each string (dict keys too) checked as Unicode:
    a lone surrogate ("\\ud800") is 400 at its field, not PostgreSQL's 500."""

    model_config = ConfigDict(extra="forbid", str_max_length=1_000_000)


class Condition(Closed):
    kind: Kind = Field(
        default="presence",
        description="presence: fire when at least `threshold` matching events arrive in the "
        "window. absence: fire when fewer than `threshold` do (a heartbeat).",
    )
    threshold: StrictInt = Field(
        description="The number of matching events, 1 or more (and no more than can arrive "
        "in the window at the ingest limit)."
    )
    window_minutes: StrictInt = Field(description=f"The window, 1 to {MAX_WINDOW_MINUTES} minutes.")


class Match(Closed):
    """Rules an event must meet, all of them, to count. Empty ones are not checked."""

    app: lengths.App = Field(default="", description="The event's app, exactly as sent.")
    source: lengths.Source = Field(
        default="", description="The event's source (or host), exactly as sent."
    )
    level: LevelName | None = Field(
        default=None, description="At or above this level; null for any."
    )
    message: lengths.Message = Field(
        default="",
        description="Text found anywhere in the message, ignoring case; or, with "
        "`message_is_regex`, an RE2 regular expression (case-sensitive: start it with (?i) "
        "to ignore case).",
    )
    message_is_regex: StrictBool = False
    attribute: lengths.Attribute = Field(default="", description="An attribute's name: region.")
    attribute_equals: lengths.AttributeEquals = Field(
        default="", description="What it must equal, compared as text."
    )


class PagerDutyEvent(Closed):
    """How the alert reads in PagerDuty."""

    summary: lengths.Summary = Field(
        default=DEFAULT_SUMMARY,
        description="Placeholders: {alert}, {count}, {threshold}, {window}, {org}, and {group} "
        "(the value, for an alert with `group_by`).",
    )
    source: lengths.EventSource = Field(
        default=DEFAULT_SOURCE,
        description="Where the problem is: a host or service. An alert that counts each source "
        "on its own sends the host it fires about while this is the default.",
    )
    component: lengths.Component = ""
    group: lengths.Group = ""
    event_class: lengths.EventClass = Field(default="", description="PagerDuty's `class`.")
    custom_details: dict[str, str] = Field(
        default_factory=dict,
        description="Sent in the event's custom_details (at most 50).",
        json_schema_extra=lengths.DETAILS,
    )


class AlertIn(Closed):
    """An alert's whole definition: what POST and PUT take."""

    name: lengths.AlertName
    description: lengths.Description = ""
    severity: Severity = "error"
    enabled: StrictBool = Field(
        default=True,
        description="A disabled alert counts nothing and pages nobody; disabling resolves "
        "its open incident.",
    )
    auto_resolve: StrictBool = Field(
        default=True,
        description="Resolve the incident when the condition clears. False: the firing stays "
        "open until someone resolves it in PagerDuty or in Tripwire.",
    )
    severity_from_events: StrictBool = Field(
        default=False,
        description="Page as critical, error, warning or info after the highest level among "
        "the window's matching events, instead of `severity`.",
    )
    group_by: GroupByName | None = Field(default=None, description=GROUPING_HELP)
    group_attribute: lengths.GroupAttribute = Field(
        default="", description='With group_by "attribute": its name, e.g. host or region.'
    )
    resolve_quiet_values: StrictBool = Field(
        default=False,
        description="For an absence alert with `group_by` (hosts that come and go): a value "
        "that sends nothing for ALERT_GROUP_FORGET_WINDOWS windows is forgotten and its "
        "firing resolves. False: it stays firing until it sends again or is no longer "
        "watched (the alert's page). Always false for other alerts.",
    )
    condition: Condition
    match: Match = Match()
    pagerduty: PagerDutyEvent = PagerDutyEvent()
    targets: list[BodyId] = Field(
        description="The ids of the PagerDuty services it pages (GET /services): at least "
        "one, unless the alert already has none (its services were removed): then [] saves, "
        "and `warnings` says it pages nobody."
    )


class ConditionPatch(Closed):
    kind: Kind | None = None
    threshold: StrictInt | None = None
    window_minutes: StrictInt | None = None


class MatchPatch(Closed):
    app: lengths.App | None = None
    source: lengths.Source | None = None
    level: LevelName | None = None
    message: lengths.Message | None = None
    message_is_regex: StrictBool | None = None
    attribute: lengths.Attribute | None = None
    attribute_equals: lengths.AttributeEquals | None = None


class PagerDutyEventPatch(Closed):
    summary: lengths.Summary | None = None
    source: lengths.EventSource | None = None
    component: lengths.Component | None = None
    group: lengths.Group | None = None
    event_class: lengths.EventClass | None = None
    custom_details: dict[str, str] | None = Field(
        default=None,
        description="Replaces the whole set of custom details.",
        json_schema_extra=lengths.DETAILS,
    )


class AlertPatch(Closed):
    """The fields to change; the others stay. `custom_details` and `targets` are replaced
    whole. The result must be a valid alert, as with PUT."""

    name: lengths.AlertName | None = None
    description: lengths.Description | None = None
    severity: Severity | None = None
    enabled: StrictBool | None = None
    auto_resolve: StrictBool | None = None
    severity_from_events: StrictBool | None = None
    group_by: GroupByName | None = Field(default=None, description="null: count all together.")
    group_attribute: lengths.GroupAttribute | None = None
    resolve_quiet_values: StrictBool | None = None
    condition: ConditionPatch | None = None
    match: MatchPatch | None = None
    pagerduty: PagerDutyEventPatch | None = None
    targets: list[BodyId] | None = None


class StateOut(BaseModel):
    code: Literal["firing", "ok", "disabled", "waiting", "counting"] = Field(
        description="waiting: an absence alert in its first window, which cannot fire yet; "
        "counting: counting restarted (an edit or enable) less than a window ago."
    )
    label: str
    firing_id: int | None = Field(default=None, description="The open firing, when firing.")
    since: datetime | None = Field(default=None, description="When the open firing opened.")
    can_fire_from: datetime | None = None
    firing_groups: list[str] = Field(
        default_factory=list,
        description='For an alert with `group_by`: the values firing now ("" stands for '
        "events without the field). `firing_id` and `since` are then the oldest firing's.",
    )


class HealthOut(BaseModel):
    code: str = Field(description="ok, off, nobody, refused, reconnect, failing or unconfirmed.")
    label: str
    words: str = Field(description="What is wrong, in words; empty when nothing is.")
    fix_url: str | None = Field(default=None, description="The page that mends it.")


class AlertOut(AlertIn):
    model_config = ConfigDict(extra="ignore")

    id: int
    state: StateOut
    health: HealthOut
    counting_since: datetime = Field(
        description="Events are counted from here: a change to the match rules or the "
        "window, or enabling, starts counting afresh."
    )
    created_at: datetime
    updated_at: datetime
    etag: str = Field(description="The version: send it as If-Match to change or delete.")
    url: str = Field(description="The alert's page.")


class AlertSaved(AlertOut):
    warnings: list[str] = Field(
        default_factory=list,
        description="Saved, but said in words: whom it pages until a broken service of it "
        "is mended (deleted or refused in PagerDuty, its account to reconnect, deliveries "
        "failing), e.g. “It pages nobody until Typo key is fixed: PagerDuty refuses its "
        "key.” Empty when every service works.",
    )


class PageOut(BaseModel):
    count: int = Field(description="How many there are in all, with these filters.")
    page: int
    per_page: int
    next: str | None = Field(description="The next page's URL; null on the last page.")
    previous: str | None


COUNT_CAP = 10_000  # history's lists count this far, no further (`paging.history_page_of`)


class HistoryPageOut(PageOut):
    count: int = Field(
        description=f"How many there are with these filters, counted up to {COUNT_CAP}: "
        f"{COUNT_CAP} with `count_capped` true means {COUNT_CAP}+ (more, not counted)."
    )
    count_capped: bool = Field(
        description=f"true: there are more than {COUNT_CAP}, and `count` says {COUNT_CAP}+."
    )
    next: str | None = Field(
        description="The next (older) page's URL; null on the last page. Past the first "
        f"{COUNT_CAP} rows, and once walking with `before`, it uses `before`."
    )
    next_before: str | None = Field(
        description="Pass as `before` for the page after this one (older); null on the last "
        "page. Opaque: send it back as it came."
    )
    previous: str | None = Field(description="Null on page 1 and when walking with `before`.")


class AlertPage(PageOut):
    items: list[AlertOut]


class FieldProblem(BaseModel):
    field: str | None = Field(description="Where in the body, e.g. condition.threshold.")
    message: str


class InvalidOut(BaseModel):
    message: str = Field(description="What went wrong, and what to do about it.")
    errors: list[FieldProblem] = Field(description="Each field at fault and why.")
