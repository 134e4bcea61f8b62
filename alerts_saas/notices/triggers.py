"""The changes that can break or mend an organization's paging, each queuing a check of its
problems once committed (`tasks.reconcile_soon`): an alert saved, deleted or given other
services; a PagerDuty service or account saved or deleted; and what the PagerDuty
integration announces that no model signal shows (`integrations.pagerduty.signals`: a
service refused or failing, an account to reconnect). A change made on the integration's
settings pages (`signals.changed_in_request`) also brings the rows up to date at once, for
the banner of the page shown next.

A change a member makes in a request (`MemberChanges`) is handled as that request ends,
after its transactions: the rows are brought up to date there, in the member's name, so an
alert left without a service by her own change is marked as hers and not emailed to her
(`reconcile.update_rows`), and the check is queued after that. Only what the request itself
touched is hers (`Touched`: the alerts, services and accounts it saved or deleted, and the
alerts whose services it changed): a problem another's change made meanwhile (an API
token's, a colleague's) is no one's, and a page that only reads credits no one.
What PagerDuty did (`paging_changed`) is queued at once, whoever's request saw it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.http import HttpRequest, HttpResponse

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from alerts_saas.audit import context
from alerts_saas.audit.models import ActorKind
from alerts_saas.notices.reconcile import update_rows
from alerts_saas.notices.tasks import reconcile_soon
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.signals import changed_in_request, paging_changed

log = logging.getLogger(__name__)
TARGET_CHANGES = {"post_add", "post_remove", "post_clear"}


@dataclass
class Touched:
    """What a request changed, while `MemberChanges` handles it: the organizations, and the
    subjects of problems (`reconcile.subject`: "alert:12", "service:3", "account:5") its
    own changes can have made or mended. A page that only looks (the picker GET) credits
    no one with what it finds mended: it touched none of it, at most an account whose
    token it refreshed, and a refresh mends nothing a member is credited with."""

    organizations: set[int] = field(default_factory=set)
    subjects: set[str] = field(default_factory=set)
    changes: int = 0  # the changes seen so far, each a saved, deleted or relinked row
    # The organizations whose rows this request brought up to date already, in its
    # member's name (`changed_in_request`), each with `changes` then: as the request ends,
    # one no change followed is not brought up to date again.
    updated: dict[int, int] = field(default_factory=dict)

    def add(self, thing: str, pks: Iterable[int]) -> None:
        self.subjects.update(f"{thing}:{pk}" for pk in pks)

    def changed(self, organization_id: int) -> None:
        self.organizations.add(organization_id)
        self.changes += 1

    def stale(self) -> set[int]:
        """The organizations whose rows a change left behind since they were updated."""
        return {o for o in self.organizations if self.updated.get(o) != self.changes}


_touched: ContextVar[Touched | None] = ContextVar("notices_touched", default=None)
_THING = {Alert: "alert", PagerDutyService: "service", PagerDutyAccount: "account"}


def check_after_commit(organization_id: int) -> None:
    transaction.on_commit(partial(reconcile_soon, organization_id))


def _check_after_change(organization_id: int) -> None:
    touched = _touched.get()
    if touched is None:
        check_after_commit(organization_id)
    else:
        touched.changed(organization_id)


def _touch(thing: str, pks: Iterable[int]) -> None:
    touched = _touched.get()
    if touched is not None:
        touched.add(thing, pks)


def _row_changed(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    organization_id = getattr(instance, "organization_id", None)
    if organization_id is not None:
        _touch(_THING[type(instance)], [instance.pk])
        _check_after_change(organization_id)


def _service_deleting(sender: type[Model], instance: PagerDutyService, **kwargs: Any) -> None:
    """The alerts a service's deletion may leave paging nobody, read while its target rows
    are still there (they go with it, no m2m signal says so); only in a request."""
    if _touched.get() is not None:
        _touch("alert", _targeting(instance.pk))


def _targeting(service_id: int) -> list[int]:
    """The alerts targeting the service, in one query."""
    rows = Alert.targets.through.objects.filter(pagerdutyservice_id=service_id)
    return list(rows.values_list("alert_id", flat=True))


def _targets_changed(
    sender: type[Model],
    instance: Model,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    # `instance` is the alert, or the service when the change came from its side (then the
    # alerts are `pk_set`, or for a clear those read before it).
    if reverse and action == "pre_clear" and _touched.get() is not None:
        _touch("alert", _targeting(instance.pk))
    if action in TARGET_CHANGES:
        _touch("alert", (pk_set or ()) if reverse else [instance.pk])
        _row_changed(type(instance), instance)


def _paging_changed(sender: type, organization_ids: frozenset[int], **kwargs: Any) -> None:
    for organization_id in organization_ids:
        check_after_commit(organization_id)


def _changed_in_request(sender: type, organization: Organization, **kwargs: Any) -> None:
    # The banner of the page shown next (or of this one) reads the rows: up to date now, in
    # the member's name for what this request touched so far, the emails left to the run.
    touched = _touched.get()
    if touched is None:
        update_rows(organization)
    else:
        update_rows(organization, member_id=_member_id(), touched=frozenset(touched.subjects))
        touched.updated[organization.pk] = touched.changes


def _member_id() -> int | None:
    """The person acting in this request, if a signed-in person is (not an API token)."""
    actor = context.current().actor()
    return actor.user_id if actor.kind == ActorKind.USER else None


def _after_request(touched: Touched) -> None:
    """A person's changes (not an API token's, nor an ingest request's) bring the rows up to
    date in their name, for what they touched (unless the request did it already, after
    its last change: `Touched.updated`); then, or else, the check is queued."""
    organization_ids = touched.organizations
    try:
        member_id = _member_id()
        stale = touched.stale()
        if member_id is not None and touched.subjects and stale:
            for organization in Organization.objects.filter(pk__in=stale):
                update_rows(organization, member_id=member_id, touched=frozenset(touched.subjects))
    except Exception:  # the queued run still brings them up to date, in no one's name
        log.exception("Updating the paging problems of organizations %s failed", organization_ids)
    for organization_id in sorted(organization_ids):
        check_after_commit(organization_id)  # at once, outside a transaction


class MemberChanges:
    """Brings the paging problems a request's changes made or mended up to date as it ends,
    in the name of the person who made them (after the audit context, which knows them)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        touched = Touched()
        reset = _touched.set(touched)
        try:
            return self.get_response(request)
        finally:
            _touched.reset(reset)
            if touched.organizations:
                _after_request(touched)


def connect() -> None:
    for model in (Alert, PagerDutyService, PagerDutyAccount):
        label = model._meta.label_lower
        post_save.connect(_row_changed, sender=model, dispatch_uid=f"notices-saved-{label}")
        post_delete.connect(_row_changed, sender=model, dispatch_uid=f"notices-deleted-{label}")
    pre_delete.connect(
        _service_deleting, sender=PagerDutyService, dispatch_uid="notices-deleting-service"
    )
    m2m_changed.connect(
        _targets_changed, sender=Alert.targets.through, dispatch_uid="notices-alert-targets"
    )
    paging_changed.connect(_paging_changed, dispatch_uid="notices-paging-changed")
    changed_in_request.connect(_changed_in_request, dispatch_uid="notices-changed-in-request")
