"""/alerts: list, read, create, replace, update, delete, enable and disable.

Each change does what the alert's page does (`definitions.save`, `evaluation.reevaluate`,
`evaluation.delete`), in one transaction with the alert locked; with If-Match, only if the
alert is still the version the caller read (412 otherwise).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field
from pydantic import ValidationError as PydanticError

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.health import targets_with_accounts
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.target_words import saved_warnings
from alerts_saas.alerts.views.listing import Show, annotated, search_term
from alerts_saas.api import definitions
from alerts_saas.api.auth import READ, WRITE, TokenRequest
from alerts_saas.api.errors import Problems, field_problems
from alerts_saas.api.fields import NoNul
from alerts_saas.api.paging import Paging, page_of
from alerts_saas.api.schemas import (
    AlertIn,
    AlertOut,
    AlertPage,
    AlertPatch,
    AlertSaved,
    FieldProblem,
    InvalidOut,
)
from alerts_saas.ingest.parsing import Refused
from alerts_saas.ingest.schema import ErrorOut

router = Router(tags=["Alerts"])

ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}
CHANGE: dict[int, Any] = {**ERRORS, 400: InvalidOut, 409: ErrorOut, 412: ErrorOut}
IF_MATCH = {
    "parameters": [
        {
            "name": "If-Match",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "The alert's ETag (or `etag`) as last read: the change is made "
            "only if nobody changed the alert since (412 otherwise).",
        }
    ]
}


class AlertFilters(Schema):
    state: Show = Field(
        default=Show.ALL,
        description="firing; enabled; disabled; nobody (enabled alerts with no service); all.",
    )
    enabled: bool | None = None
    search: NoNul = Field(default="", description="Part of the name, any case.")


def _rows(request: TokenRequest) -> QuerySet[Alert]:
    return Alert.objects.filter(organization=request.auth.organization).select_related(
        "organization"
    )


def _shown(request: TokenRequest, alerts: list[Alert]) -> list[AlertOut]:
    ids = [alert.pk for alert in alerts]
    firings = Firing.objects.filter(alert_id__in=ids, cleared_at__isnull=True)
    return definitions.show(request, alerts, firings)


def _full(rows: QuerySet[Alert]) -> QuerySet[Alert]:
    return rows.prefetch_related("details", targets_with_accounts())


def _shown_one(
    request: TokenRequest, alert_id: int, response: HttpResponse
) -> tuple[Alert, AlertOut]:
    alert = _full(_rows(request)).filter(pk=alert_id).first()
    if alert is None:
        raise _missing(alert_id)
    [shown] = _shown(request, [alert])
    response["ETag"] = shown.etag
    return alert, shown


def _one(request: TokenRequest, alert_id: int, response: HttpResponse) -> AlertOut:
    return _shown_one(request, alert_id, response)[1]


def _saved(request: TokenRequest, alert_id: int, response: HttpResponse) -> AlertSaved:
    """The alert as `_one` shows it, with what saving it says (`target_words`)."""
    alert, shown = _shown_one(request, alert_id, response)
    warnings = saved_warnings(alert, list(alert.targets.all()))
    return AlertSaved.model_validate({**shown.model_dump(), "warnings": warnings})


def _missing(alert_id: int) -> Refused:
    return Refused(404, f"There is no alert {alert_id} in this organization.")


def _locked(request: TokenRequest, alert_id: int, *, deleting: bool = False) -> Alert:
    """The alert, locked for the caller's transaction, if still the version If-Match names.
    Its own row only, and without its key unless it is deleted: rows that refer to it (a
    service's removal writing resolves about it) are written meanwhile, as for the page's
    views (DESIGN.md "Locks")."""
    rows = _rows(request).select_for_update(no_key=not deleting, of=("self",))
    alert = _full(rows).filter(pk=alert_id).first()
    if alert is None:
        raise _missing(alert_id)
    current = definitions.etag(alert)
    if not definitions.matches(request.headers.get("If-Match"), current):
        raise Refused(
            412,
            f"The alert “{alert.name}” changed since you read it (its version is now "
            f"{current}). Nothing was changed: read it again, then send your change with "
            "the new version in If-Match.",
        )
    return alert


@router.get("/alerts", auth=READ, response={200: AlertPage, **ERRORS, 400: InvalidOut})
def list_alerts(
    request: TokenRequest, filters: Query[AlertFilters], paging: Query[Paging]
) -> dict[str, Any]:
    """The organization's alerts by name, a page at a time, with their state and health."""
    rows = annotated(_rows(request)).filter(filters.state.condition)
    if filters.enabled is not None:
        rows = rows.filter(enabled=filters.enabled)
    search = search_term(filters.search)
    if search:
        rows = rows.filter(Q(name__icontains=search))
    alerts, facts = page_of(request, _full(rows.order_by("name", "pk")), paging)
    return {**facts, "items": _shown(request, alerts)}


@router.get("/alerts/{alert_id}", auth=READ, response={200: AlertOut, **ERRORS})
def get_alert(request: TokenRequest, alert_id: int, response: HttpResponse) -> AlertOut:
    """One alert; its version is in the ETag header (and `etag`)."""
    return _one(request, alert_id, response)


@router.post("/alerts", auth=WRITE, response={201: AlertSaved, **CHANGE})
def create_alert(request: TokenRequest, body: AlertIn, response: HttpResponse) -> Status:
    """A new alert, held to the same rules as the alert form."""
    _refuse_quiet_values(body, "resolve_quiet_values" in body.model_fields_set)
    with transaction.atomic():
        alert = definitions.save(request.auth.organization, None, body)
    response["Location"] = request.build_absolute_uri(f"{request.path}/{alert.pk}")
    return Status(201, _saved(request, alert.pk, response))


@router.put(
    "/alerts/{alert_id}", auth=WRITE, response={200: AlertSaved, **CHANGE}, openapi_extra=IF_MATCH
)
def replace_alert(
    request: TokenRequest, alert_id: int, body: AlertIn, response: HttpResponse
) -> AlertSaved:
    """Replace the whole definition. Editing what counts (match rules, window) starts
    counting afresh and resolves an open incident; new targets of an open firing are paged,
    removed ones resolved."""
    _refuse_quiet_values(body, "resolve_quiet_values" in body.model_fields_set)
    with transaction.atomic():
        alert = _locked(request, alert_id)
        if not _unchanged(alert, body):
            definitions.save(request.auth.organization, alert, body)
    return _saved(request, alert_id, response)


@router.patch(
    "/alerts/{alert_id}", auth=WRITE, response={200: AlertSaved, **CHANGE}, openapi_extra=IF_MATCH
)
def update_alert(
    request: TokenRequest, alert_id: int, body: AlertPatch, response: HttpResponse
) -> AlertSaved:
    """Change some fields; the others stay. Same rules and effects as PUT."""
    with transaction.atomic():
        alert = _locked(request, alert_id)
        merged = _merge(definitions.definition(alert), body.model_dump(exclude_unset=True))
        try:
            whole = AlertIn.model_validate(merged)
        except PydanticError as error:  # a field that can't be empty was set to null
            raise Problems(
                "The request was not understood, and nothing was done. Leave a field out to "
                "keep it as it is.",
                field_problems(error.errors()),
            ) from None
        _refuse_quiet_values(whole, "resolve_quiet_values" in body.model_fields_set)
        if not _unchanged(alert, whole):
            definitions.save(request.auth.organization, alert, whole)
    return _saved(request, alert_id, response)


def _refuse_quiet_values(body: AlertIn, sent: bool) -> None:
    """400 for `resolve_quiet_values` true sent for an alert it does nothing for: the form
    turns it off there (its box is hidden), which through the API went unsaid."""
    applies = body.condition.kind == "absence" and body.group_by and body.auto_resolve
    if sent and body.resolve_quiet_values and not applies:
        raise Problems(
            "The alert was not saved.",
            [
                FieldProblem(
                    field="resolve_quiet_values",
                    message='applies only to an absence alert (condition.kind "absence") '
                    "that counts each value separately (group_by) and resolves by itself "
                    "(auto_resolve true): send false, or leave it out",
                )
            ],
        )


def _unchanged(alert: Alert, body: AlertIn) -> bool:
    """Whether `body` is the alert's definition as it stands (an empty PATCH, a PUT of what
    was read): then nothing is saved, so its version (ETag, `updated_at`) stays and others'
    If-Match still holds."""
    wanted = body.model_dump()
    wanted["targets"] = sorted(set(body.targets))
    try:
        current = AlertIn.model_validate(definitions.definition(alert)).model_dump()
    except PydanticError:  # not one the API could have sent: save it as sent
        return False
    return wanted == current


def _merge(current: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for name, value in change.items():
        if isinstance(value, dict) and name != "custom_details" and value is not None:
            merged[name] = _merge(current.get(name) or {}, value)
        else:
            merged[name] = value
    return merged


@router.delete(
    "/alerts/{alert_id}", auth=WRITE, response={204: None, **CHANGE}, openapi_extra=IF_MATCH
)
def delete_alert(request: TokenRequest, alert_id: int) -> Status:
    """Delete the alert; its open incident is resolved in PagerDuty, its delivery history
    stays."""
    with transaction.atomic():
        evaluation.delete(_locked(request, alert_id, deleting=True))
    return Status(204, None)


def _set_enabled(
    request: TokenRequest, alert_id: int, enable: bool, response: HttpResponse
) -> AlertOut:
    with transaction.atomic():
        alert = _locked(request, alert_id)
        if alert.enabled != enable:
            alert.enabled = enable
            # As the page's toggle: a save (ingestion recompiles), then re-evaluated.
            alert.save(update_fields=["enabled", "updated_at"])
            evaluation.reevaluate(alert, alert.counting_restarted)
    return _one(request, alert_id, response)


@router.post(
    "/alerts/{alert_id}/enable",
    auth=WRITE,
    response={200: AlertOut, **CHANGE},
    openapi_extra=IF_MATCH,
)
def enable_alert(request: TokenRequest, alert_id: int, response: HttpResponse) -> AlertOut:
    """Enable: it counts matching events from now (an absence alert waits one full window
    before it can fire). Enabling an enabled alert changes nothing."""
    return _set_enabled(request, alert_id, True, response)


@router.post(
    "/alerts/{alert_id}/disable",
    auth=WRITE,
    response={200: AlertOut, **CHANGE},
    openapi_extra=IF_MATCH,
)
def disable_alert(request: TokenRequest, alert_id: int, response: HttpResponse) -> AlertOut:
    """Disable: it pages nobody, and its open incident is resolved in PagerDuty."""
    return _set_enabled(request, alert_id, False, response)
