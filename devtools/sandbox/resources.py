"""JSON representations of sandbox objects, shaped like PagerDuty's REST API v2."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from .clock import iso
from .state import Account, Integration, Service, Store, User, WebhookSubscription

WEBHOOK_EVENT_TYPES = frozenset(
    {
        "incident.acknowledged",
        "incident.annotated",
        "incident.conference_bridge.updated",
        "incident.custom_field_values.updated",
        "incident.delegated",
        "incident.escalated",
        "incident.incident_type.changed",
        "incident.priority_updated",
        "incident.reassigned",
        "incident.reopened",
        "incident.resolved",
        "incident.responder.added",
        "incident.responder.replied",
        "incident.role.assigned",
        "incident.service_updated",
        "incident.status_update_published",
        "incident.task.completed",
        "incident.task.created",
        "incident.task.updated",
        "incident.triggered",
        "incident.unacknowledged",
        "incident.action_invocation.created",
        "incident.action_invocation.terminated",
        "incident.action_invocation.updated",
        "incident.workflow.started",
        "incident.workflow.completed",
        "service.created",
        "service.custom_field_values.updated",
        "service.deleted",
        "service.updated",
    }
)
REDACTED = "-- redacted --"


def reference(
    type_: str, id_: str, summary: str, self_url: str | None, html_url: str | None
) -> dict[str, Any]:
    return {"id": id_, "type": type_, "summary": summary, "self": self_url, "html_url": html_url}


def service_ref(account: Account, service: Service) -> dict[str, Any]:
    return reference(
        "service_reference",
        service.id,
        service.name,
        f"{account.api_base}/services/{service.id}",
        f"{account.web_base}/service-directory/{service.id}",
    )


def integration_ref(account: Account, integration: Integration) -> dict[str, Any]:
    return reference(
        f"{integration.type}_reference",
        integration.id,
        integration.name,
        f"{account.api_base}/services/{integration.service_id}/integrations/{integration.id}",
        f"{account.web_base}/services/{integration.service_id}/integrations/{integration.id}",
    )


def integration_json(st: Store, integration: Integration) -> dict[str, Any]:
    account = st.accounts[integration.account_id]
    service = st.services[integration.service_id]
    data = integration_ref(account, integration)
    data.update(
        type=integration.type,
        name=integration.name,
        service=service_ref(account, service),
        created_at=iso(integration.created_at),
    )
    if integration.integration_key:
        data["integration_key"] = integration.integration_key
    if integration.integration_email:
        data["integration_email"] = integration.integration_email
    return data


def service_status(st: Store, service: Service) -> str:
    statuses = {a.status for a in st.alerts.values() if a.service_id == service.id}
    if "triggered" in statuses:
        return "critical"
    return "warning" if "acknowledged" in statuses else "active"


def service_json(st: Store, service: Service, include: Iterable[str] = ()) -> dict[str, Any]:
    """A Service object; ``include`` may contain integrations/teams/escalation_policies."""
    include = set(include)
    account = st.accounts[service.account_id]
    policy = st.policies[service.escalation_policy_id]
    integrations = [st.integrations[i] for i in service.integration_ids]
    teams = [st.teams[t] for t in service.team_ids]
    data = reference(
        "service",
        service.id,
        service.name,
        f"{account.api_base}/services/{service.id}",
        f"{account.web_base}/service-directory/{service.id}",
    )
    data.update(
        name=service.name,
        description=service.description,
        auto_resolve_timeout=14400,
        acknowledgement_timeout=1800,
        created_at=iso(service.created_at),
        status=service_status(st, service),
        alert_creation="create_alerts_and_incidents",
        alert_grouping_parameters={"type": None},
        incident_urgency_rule=service.urgency_rule,
        scheduled_actions=[],
        addons=[],
        response_play=None,
        auto_pause_notifications_parameters={"enabled": False, "timeout": 0},
        escalation_policy=reference(
            "escalation_policy"
            if "escalation_policies" in include
            else "escalation_policy_reference",
            policy.id,
            policy.name,
            f"{account.api_base}/escalation_policies/{policy.id}",
            f"{account.web_base}/escalation_policies/{policy.id}",
        ),
        teams=[
            reference(
                "team" if "teams" in include else "team_reference",
                team.id,
                team.name,
                f"{account.api_base}/teams/{team.id}",
                f"{account.web_base}/teams/{team.id}",
            )
            | ({"name": team.name, "description": team.description} if "teams" in include else {})
            for team in teams
        ],
        integrations=[
            integration_json(st, i) if "integrations" in include else integration_ref(account, i)
            for i in integrations
        ],
    )
    if service.support_hours:
        data["support_hours"] = service.support_hours
    if "escalation_policies" in include:
        data["escalation_policy"]["name"] = policy.name
    alert_times = [a.created_at for a in st.alerts.values() if a.service_id == service.id]
    if alert_times:
        data["last_incident_timestamp"] = iso(max(alert_times))
    return data


def user_json(st: Store, user: User) -> dict[str, Any]:
    account = st.accounts[user.account_id]
    data = reference(
        "user",
        user.id,
        user.name,
        f"{account.api_base}/users/{user.id}",
        f"{account.web_base}/users/{user.id}",
    )
    email_hash = hashlib.md5(user.email.lower().encode(), usedforsecurity=False).hexdigest()
    data.update(
        name=user.name,
        email=user.email,
        time_zone=user.time_zone,
        color=user.color,
        role=user.role,
        avatar_url=f"https://secure.gravatar.com/avatar/{email_hash}.png?d=mm&r=PG",
        description=None,
        invitation_sent=False,
        job_title=user.job_title,
        teams=[
            reference(
                "team_reference",
                t.id,
                t.name,
                f"{account.api_base}/teams/{t.id}",
                f"{account.web_base}/teams/{t.id}",
            )
            for t in (st.teams[tid] for tid in user.team_ids)
        ],
        contact_methods=[
            reference(
                "email_contact_method_reference",
                user.contact_method_id,
                "Default",
                f"{account.api_base}/users/{user.id}/contact_methods/{user.contact_method_id}",
                None,
            )
        ],
        notification_rules=[
            reference(
                "assignment_notification_rule_reference",
                user.notification_rule_id,
                "0 minutes: channel " + user.contact_method_id,
                f"{account.api_base}/users/{user.id}/notification_rules/{user.notification_rule_id}",
                None,
            )
        ],
    )
    return data


def webhook_subscription_json(sub: WebhookSubscription, *, created: bool = False) -> dict[str, Any]:
    """Secret and custom header values are only shown in the create response."""
    return {
        "id": sub.id,
        "type": "webhook_subscription",
        "active": sub.active,
        "delivery_method": {
            "id": sub.delivery_method_id,
            "secret": sub.secret if created else None,
            "temporarily_disabled": sub.temporarily_disabled,
            "type": "http_delivery_method",
            "url": sub.url,
            "custom_headers": [
                {"name": h["name"], "value": h["value"] if created else REDACTED}
                for h in sub.custom_headers
            ],
        },
        "description": sub.description,
        "events": list(sub.events),
        "filter": dict(sub.filter),
    }
