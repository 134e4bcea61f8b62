"""Acting on an incident from Tripwire: acknowledge, resolve, add a note, through PagerDuty's
REST API as the user who connected the account. A person's own name goes with each act as
a note, since PagerDuty records the connecting user as the one who acted."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from alerts_saas.accounts.access import TenantRequest, tenant_get, tenant_view
from alerts_saas.audit.models import Action
from alerts_saas.audit.recorder import record
from integrations.pagerduty.departures import who_connected
from integrations.pagerduty.incidents.models import Incident, IncidentStatus
from integrations.pagerduty.incidents.words import REST_PRECISION, SAME_CHANGE, same_change
from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.reconnect import act_refused
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError

log = logging.getLogger(__name__)
NOTE_LIMIT = 1000  # characters a note may have from here (PagerDuty trims longer ones)
STATUS_OF = {"acknowledge": IncidentStatus.ACKNOWLEDGED, "resolve": IncidentStatus.RESOLVED}
DONE = {"acknowledge": "acknowledged", "resolve": "resolved", "note": "noted"}
INSTEAD = {"acknowledge": "Acknowledge it", "resolve": "Resolve it", "note": "Add the note"}


def _back(request: TenantRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = f"/o/{request.tenant.organization.slug}/"
    return redirect(target, permanent=False)


@tenant_view()
@require_POST
def act(request: TenantRequest, incident_id: int, action: str) -> HttpResponse:
    incident = tenant_get(
        request, Incident.objects.select_related("service__account__connected_by"), pk=incident_id
    )
    label = f"Incident #{incident.number}" if incident.number else "The incident"
    account = incident.service.account
    if account is None:
        messages.error(
            request,
            f"{label} can only be changed in PagerDuty: its service was connected "
            "with a pasted key.",
        )
        return _back(request)
    note = " ".join(request.POST.get("note", "").split())
    if action == "note" and not note:
        messages.error(request, "Write the note first: it was empty.")
        return _back(request)
    if len(note) > NOTE_LIMIT:
        messages.error(request, f"The note is {len(note)} characters long; {NOTE_LIMIT} at most.")
        return _back(request)
    if account.needs_reconnect:  # its access is gone: asking again would only be refused
        return _reconnect_first(request, label, action, account.name)
    who = request.user.get_username()
    api = AccountApi(account)
    pressed = timezone.now()  # before the call: a change PagerDuty made before it is not ours
    try:
        if action in STATUS_OF:
            answer = api.set_incident_status(incident.pd_incident_id, STATUS_OF[action])
            if not _record(incident, answer, who, pressed):
                now = answer.get("status") or DONE[action]
                messages.info(request, f"{label} was already {now} in PagerDuty: nothing changed.")
                return _back(request)
        else:
            api.add_incident_note(incident.pd_incident_id, f"{note}\n— {who}, in Tripwire")
    except PagerDutyApiError as exc:
        if exc.status == 401 and _needs_reconnect(account.pk):  # refused just now
            log.info("Incident %s not %s: %s", incident.pk, DONE[action], exc.message)
            return _reconnect_first(request, label, action, account.name)
        messages.error(
            request, f"PagerDuty did not take it: {exc.message} {label} was not {DONE[action]}."
        )
        return _back(request)
    _audit(incident, action, note)
    if action in STATUS_OF:
        try:  # who pressed the button, in PagerDuty's timeline too: nice to have, not needed
            api.add_incident_note(
                incident.pd_incident_id, f"{DONE[action].capitalize()} in Tripwire by {who}."
            )
        except PagerDutyApiError as exc:
            log.info("Note on incident %s not added: %s", incident.pk, exc.message)
    if action == "note":
        done = f"Note added in PagerDuty to {label[0].lower()}{label[1:]}"
    else:
        done = f"{label} {DONE[action]} in PagerDuty"
    messages.success(request, done + _as_whom(account, request.tenant.organization.name) + ".")
    return _back(request)


def _as_whom(account: PagerDutyAccount, organization: str) -> str:
    """As whom PagerDuty records it, when that is someone who left (`departures`)."""
    if account.connected_by_left_at is None:
        return ""
    return (
        f", as {who_connected(account)}, who left {organization}: PagerDuty shows them as "
        f"the one who acted until an admin reconnects {account.name} in Integrations"
    )


def _needs_reconnect(account_id: int) -> bool:
    return PagerDutyAccount.objects.filter(
        pk=account_id, status=PagerDutyAccount.Status.NEEDS_RECONNECT
    ).exists()


def _reconnect_first(
    request: TenantRequest, label: str, action: str, account_name: str
) -> HttpResponse:
    """Why nothing changed, in plain words (`reconnect.act_refused`; PagerDuty's own words
    are in the log and on Integrations), and what to do meanwhile."""
    messages.error(request, act_refused(label, DONE[action], INSTEAD[action], account_name))
    return _back(request)


def _audit(incident: Incident, action: str, note: str) -> None:
    """The act in the audit log, as the person who pressed the button: which incident (its
    number and title, which names the alert) and what they did."""
    name = f"#{incident.number or incident.pd_incident_id}"
    name += f" “{incident.title}”" if incident.title else ""
    changes: list[dict[str, Any]] = [{"field": "note added", "after": note, "text": True}]
    if action in STATUS_OF:
        after = STATUS_OF[action].label.lower()
        changes = [{"field": "status", "before": incident.status, "after": after}]
    record(incident, Action.CHANGED, changes, force_new=True, name=name)


def _record(incident: Incident, answer: dict[str, Any], who: str, pressed: datetime) -> bool:
    """PagerDuty's answer is the incident as it now is: keep its status at once (its webhook
    confirms it moments later, or came first), and that `who` did it from Tripwire: PagerDuty
    names the user whose login connected the account. A change older than the press (a page
    not yet refreshed: PagerDuty answers the incident unchanged) is someone else's: False."""
    status = answer.get("status")
    changed = parse_datetime(str(answer.get("last_status_change_at") or ""))
    agent = answer.get("last_status_change_by") or {}
    by, kind = str(agent.get("summary") or ""), str(agent.get("type") or "")
    if status not in IncidentStatus.values or changed is None:
        return True  # an answer we cannot read: the call itself went through
    ours = changed >= pressed - SAME_CHANGE
    latest = changed + REST_PRECISION  # when it happened, at the latest
    with transaction.atomic():
        current = Incident.objects.select_for_update().get(pk=incident.pk)
        told = current.resolved_at if status == IncidentStatus.RESOLVED else current.acknowledged_at
        newer = current.status != status and latest < current.status_changed_at
        if newer and not same_change(told, changed):
            return ours  # PagerDuty has told of a later change already (its webhook)
        if not ours and same_change(told, changed):
            return False  # known as it is, with whoever did it
        who = who if ours else ""
        if latest >= current.status_changed_at and current.status != status:
            current.status, current.status_changed_at, current.status_changed_by = (
                status,
                changed,
                by,
            )
        if status == IncidentStatus.ACKNOWLEDGED:
            current.acknowledged_by, current.acknowledged_at = by, changed
            current.acknowledged_in_tripwire_by = who
        elif status == IncidentStatus.RESOLVED:
            current.resolved_by, current.resolved_at, current.resolved_by_type = by, changed, kind
            current.resolved_in_tripwire_by, current.resolved_for = who, ""
        current.save()
    return ours
