"""An alert as the API shows and takes it, turned to and from the alert form's fields.

The form (`AlertForm`, `DetailFormSet`) judges what is sent, so that an alert is held to
the same rules whether it is saved on the page or through the API; its errors are given
back under the API's field names. Saving goes the form's way too (`save`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts import evaluation
from alerts_saas.alerts.forms import AlertForm, BaseDetailFormSet, DetailFormSet
from alerts_saas.alerts.health import alert_health
from alerts_saas.alerts.models import Alert, Firing, Level
from alerts_saas.alerts.reach import Fallbacks
from alerts_saas.alerts.state import state_of
from alerts_saas.api.errors import Problems
from alerts_saas.api.schemas import LEVELS, AlertIn, AlertOut, FieldProblem
from alerts_saas.ingest.parsing import Refused
from alerts_saas.words import listed
from integrations.pagerduty.models import PagerDutyService

# The form's field: where it is in the API's body.
FIELDS = {
    "name": "name",
    "description": "description",
    "severity": "severity",
    "kind": "condition.kind",
    "threshold": "condition.threshold",
    "window_minutes": "condition.window_minutes",
    "window_unit": "condition.window_minutes",
    "match_app": "match.app",
    "match_source": "match.source",
    "match_level": "match.level",
    "match_message": "match.message",
    "match_message_regex": "match.message_is_regex",
    "match_attribute": "match.attribute",
    "match_attribute_value": "match.attribute_equals",
    "summary_template": "pagerduty.summary",
    "source": "pagerduty.source",
    "component": "pagerduty.component",
    "group": "pagerduty.group",
    "event_class": "pagerduty.event_class",
    "targets": "targets",
    "auto_resolve": "auto_resolve",
    "severity_from_events": "severity_from_events",
    "group_by": "group_by",
    "group_attribute": "group_attribute",
    "resolve_quiet_values": "resolve_quiet_values",
}


def definition(alert: Alert) -> dict[str, Any]:
    """The alert's definition, as `AlertIn` has it (details and targets prefetched)."""
    level = Level(alert.match_level).label if alert.match_level is not None else None
    return {
        "name": alert.name,
        "description": alert.description,
        "severity": alert.severity,
        "enabled": alert.enabled,
        "auto_resolve": alert.auto_resolve,
        "severity_from_events": alert.severity_from_events,
        "group_by": alert.group_by or None,
        "group_attribute": alert.group_attribute,
        "resolve_quiet_values": alert.resolve_quiet_values,
        "condition": {
            "kind": alert.kind,
            "threshold": alert.threshold,
            "window_minutes": alert.window_minutes,
        },
        "match": {
            "app": alert.match_app,
            "source": alert.match_source,
            "level": level,
            "message": alert.match_message,
            "message_is_regex": alert.match_message_regex,
            "attribute": alert.match_attribute,
            "attribute_equals": alert.match_attribute_value,
        },
        "pagerduty": {
            "summary": alert.summary_template,
            "source": alert.source,
            "component": alert.component,
            "group": alert.group,
            "event_class": alert.event_class,
            "custom_details": {d.key: d.value for d in alert.details.all()},
        },
        "targets": sorted(t.pk for t in alert.targets.all()),
    }


def etag(alert: Alert) -> str:
    """The alert's version: its definition and last save. A change through any path (the
    page, the API, a service's side) gives a new one."""
    stamp = orjson.dumps([definition(alert), alert.updated_at.isoformat()])
    return f'"{hashlib.sha256(stamp).hexdigest()[:32]}"'


def matches(header: str | None, current: str) -> bool:
    """Whether an If-Match header (absent: anything goes) names the current version."""
    if header is None:
        return True
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or current in tags


def show(
    request: HttpRequest, alerts: Sequence[Alert], open_firings: Iterable[Firing]
) -> list[AlertOut]:
    """The alerts as the API shows them: their targets (with accounts) and details
    prefetched, and their open firings."""
    now = timezone.now()
    by_alert: dict[int, list[Firing]] = {}
    for firing in sorted(open_firings, key=lambda f: (f.opened_at, f.pk)):
        by_alert.setdefault(firing.alert_id, []).append(firing)
    shown = []
    fallbacks = Fallbacks()
    for alert in alerts:
        slug = alert.organization.slug
        firing_now = by_alert.get(alert.pk, [])
        state = state_of(alert, firing_now[0] if firing_now else None, now)
        health = alert_health(alert, list(alert.targets.all()), slug, fallbacks)
        url = reverse("alerts:detail", args=[slug, alert.pk])
        shown.append(
            AlertOut.model_validate(
                {
                    **definition(alert),
                    "id": alert.pk,
                    "state": {
                        "code": state.code,
                        "label": state.label,
                        "firing_id": state.firing.pk if state.firing else None,
                        "since": state.firing.opened_at if state.firing else None,
                        "can_fire_from": state.full_window_at,
                        "firing_groups": sorted(f.group for f in firing_now)
                        if alert.group_by and state.firing
                        else [],
                    },
                    "health": {
                        "code": health.code,
                        "label": health.label,
                        "words": health.words,
                        "fix_url": request.build_absolute_uri(health.fix.url)
                        if health.fix
                        else None,
                    },
                    "counting_since": alert.counting_since,
                    "created_at": alert.created_at,
                    "updated_at": alert.updated_at,
                    "etag": etag(alert),
                    "url": request.build_absolute_uri(url),
                }
            )
        )
    return shown


def _form_data(body: AlertIn) -> MultiValueDict[str, Any]:
    condition, match, event = body.condition, body.match, body.pagerduty
    fields: dict[str, list[Any]] = {
        "name": [body.name],
        "description": [body.description],
        "severity": [body.severity],
        "kind": [condition.kind],
        "threshold": [condition.threshold],
        "window_minutes": [condition.window_minutes],
        "window_unit": ["minutes"],
        "match_app": [match.app],
        "match_source": [match.source],
        "match_level": [LEVELS[match.level] if match.level else ""],
        "match_message": [match.message],
        "match_message_regex": ["true" if match.message_is_regex else "false"],
        "match_attribute": [match.attribute],
        "match_attribute_value": [match.attribute_equals],
        "summary_template": [event.summary],
        "source": [event.source],
        "component": [event.component],
        "group": [event.group],
        "event_class": [event.event_class],
        "targets": [str(pk) for pk in body.targets],
        "auto_resolve": ["true" if body.auto_resolve else "false"],
        "severity_from_events": ["true" if body.severity_from_events else "false"],
        "group_by": [body.group_by or ""],
        "group_attribute": [body.group_attribute],
        "resolve_quiet_values": ["true" if body.resolve_quiet_values else "false"],
    }
    return MultiValueDict(fields)


def _details_data(alert: Alert, wanted: dict[str, str]) -> dict[str, Any]:
    """The details formset's fields: kept keys keep their row, the others' rows are
    deleted, new keys get new rows."""
    prefix = DetailFormSet.get_default_prefix()
    rows: list[dict[str, Any]] = []
    existing = list(alert.details.all()) if alert.pk else []
    for detail in existing:
        if detail.key in wanted:
            rows.append({"id": detail.pk, "key": detail.key, "value": wanted[detail.key]})
        else:
            rows.append({"id": detail.pk, "key": detail.key, "value": detail.value, "DELETE": "on"})
    kept = {d.key for d in existing}
    rows += [{"key": key, "value": value} for key, value in wanted.items() if key not in kept]
    data: dict[str, Any] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(len(existing)),
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{name}": value for name, value in row.items()})
    return data


def _problems(
    form: AlertForm, details: BaseDetailFormSet, targets: list[int]
) -> list[FieldProblem]:
    problems = [
        FieldProblem(field=FIELDS.get(name), message=_said(form, name, error, targets))
        for name, errors in form.errors.as_data().items()
        for error in errors
    ]
    for detail_form in details.forms:
        key = (detail_form.data.get(f"{detail_form.prefix}-key") or "").strip()
        where = f"pagerduty.custom_details.{key}" if key else "pagerduty.custom_details"
        problems += [
            FieldProblem(
                field=where, message=str(message) if name == "key" else f"{name}: {message}"
            )
            for name, messages in detail_form.errors.items()
            for message in messages
        ]
    problems += [
        FieldProblem(field="pagerduty.custom_details", message=str(message))
        for message in details.non_form_errors()
    ]
    return problems


def _said(form: AlertForm, name: str, error: ValidationError, targets: list[int]) -> str:
    """A form error in the API's words: a target that is none of the organization's services
    (the form says "Select a valid choice", a page's words) is named, with where to find
    theirs."""
    if name != "targets" or error.code != "invalid_choice":
        return " ".join(error.messages)
    services = PagerDutyService.objects.filter(organization=form.organization, pk__in=targets)
    known = set(services.values_list("pk", flat=True))
    missing = [str(pk) for pk in dict.fromkeys(targets) if pk not in known]
    if not missing:  # gone between the two reads: the form's own words
        return " ".join(error.messages)
    ids = listed(missing)
    which = (
        f"is no PagerDuty service {ids}"
        if len(missing) == 1
        else f"are no PagerDuty services {ids}"
    )
    return (
        f"There {which} in this organization. "
        f"GET {reverse('api:list_services')} lists its services, with the id to use."
    )


def save(organization: Organization, alert: Alert | None, body: AlertIn) -> Alert:
    """Create or replace an alert as the alert form does, in the caller's transaction (with
    `alert` locked): validate, save, save its details, re-evaluate it at once (an open
    firing's new targets are paged, removed ones resolved, a disabled alert's firing
    resolved). `Problems` (400) if the form refuses it; 409 if a concurrent save took its
    name first."""
    instance = alert or Alert(organization=organization)
    instance.enabled = body.enabled
    form = AlertForm(_form_data(body), instance=instance, organization=organization)
    details = DetailFormSet(
        _details_data(instance, body.pagerduty.custom_details), instance=instance
    )
    if not (form.is_valid() and details.is_valid()):
        raise Problems("The alert was not saved.", _problems(form, details, body.targets))
    try:
        with transaction.atomic():
            saved = form.save()
            details.instance = saved
            details.save()
            evaluation.reevaluate(saved, saved.counting_restarted)
    except IntegrityError:
        raise Refused(
            409,
            "The alert changed while this request was made (another request took its name "
            "or a custom detail's key first). Nothing was saved: read it again and retry.",
        ) from None
    return saved
