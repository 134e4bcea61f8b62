"""The models whose changes the audit log records: one `track` line each (`registry`).

Models are named by label, so this app imports none of them; a line for a model that does
not exist yet does nothing.
"""

from __future__ import annotations

from alerts_saas.audit.models import Action
from alerts_saas.audit.registry import track

ALERT_TOGGLE = {"enabled": (Action.ENABLED, Action.DISABLED)}


def register_all() -> None:
    track(
        "alerts.Alert",
        kind="alert",
        words="alert",
        name="name",
        m2m=("targets",),
        labels={"window_minutes": "window", "enabled": "enabled"},
        units={"window_minutes": "min"},
        toggles=ALERT_TOGGLE,
    )
    track(
        "alerts.CustomDetail",
        kind="custom_detail",
        words="custom detail",
        organization="alert.organization_id",
        parent="alert",
        child_key="key",
        child_value="value",
    )
    track(
        "alerts.MuteWindow",
        kind="mute_window",
        words="mute",
        name="subject_name",
        fields=("starts_at", "ends_at", "weekdays", "start_time", "duration_minutes", "reason"),
        # A weekly window is said as one line: "every week: Mon, Sun 13:00 to 02:00 (+1 day),
        # Europe/Berlin", not its stored fields.
        on_create=("starts_at", "ends_at", "schedule", "reason"),
        derived={"schedule": "alerts_saas.alerts.mutes.schedule_log_words"},
        labels={
            "starts_at": "from",
            "ends_at": "until",
            "duration_minutes": "for",
            "schedule": "every week",
        },
        units={"duration_minutes": "min"},
        phrases={
            Action.CREATED: "muted {name}",
            Action.CHANGED: "ended the mute of {name}",
            Action.DELETED: "removed a mute of {name}",
        },
    )
    track(
        "pagerduty.PagerDutyService",
        kind="pagerduty_service",
        words="PagerDuty service",
        name="name",
        fields=("name", "region", "integration_key", "is_fallback"),
        phrases={
            Action.CREATED: "connected PagerDuty service “{name}”",
            Action.DELETED: "removed PagerDuty service “{name}”",
        },
    )
    track(
        "pagerduty.PagerDutyAccount",
        kind="pagerduty_account",
        words="PagerDuty account",
        name="name",
        fields=("name", "subdomain", "region", "status", "access_token", "refresh_token"),
        phrases={
            Action.CREATED: "connected PagerDuty account “{name}”",
            Action.DELETED: "disconnected PagerDuty account “{name}”",
        },
    )
    track(
        "pagerduty_incidents.Incident",
        kind="pagerduty_incident",
        words="PagerDuty incident",
        name="title",
        fields=("status",),
        phrases={Action.CHANGED: "acted from Tripwire on PagerDuty incident {name}"},
        deletions=False,
        signals=False,  # PagerDuty's own changes are its log's; ours are recorded by the act
    )
    track(  # test triggers only, recorded as sent (`test_pages`), not as saved
        "pagerduty.Delivery",
        kind="test_page",
        words="test page",
        name="service_name",
        fields=("service_name",),
        phrases={Action.CREATED: "sent a test page to PagerDuty service “{name}”"},
        deletions=False,
        signals=False,
    )
    track(
        "ingest.IngestKey",
        kind="ingest_key",
        words="ingest key",
        name="name",
        fields=("name",),
    )
    track(
        "ingest.ApiToken",
        kind="api_token",
        words="API token",
        name="name",
        fields=("name", "scope"),
        on_create=("scope",),
    )
    track(
        "accounts.Membership",
        kind="member",
        words="member",
        name="user.email",
        fields=("role",),
        on_create=("role",),
        phrases={
            Action.CREATED: "added member “{name}”",
            Action.CHANGED: "changed member “{name}”",
            Action.DELETED: "removed member “{name}”",
        },
        self_phrases={
            Action.CREATED: "joined the organization",
            Action.DELETED: "left the organization",
        },
    )
    track(
        "accounts.Invitation",
        kind="invitation",
        words="invitation",
        name="email",
        fields=("email", "role"),
        on_create=("role",),
        phrases={
            Action.CREATED: "invited “{name}”",
            Action.CHANGED: "changed the invitation of “{name}”",
            Action.REVOKED: "withdrew the invitation of “{name}”",
            Action.ACCEPTED: "accepted the invitation sent to “{name}”",
        },
        deletions=False,  # only beat deletes invitations, long after they ended
    )
    track(
        "accounts.Organization",
        kind="organization",
        words="organization",
        name="name",
        organization="pk",
        fields=("name", "slug", "require_two_factor"),
        labels={"slug": "URL name"},
    )
