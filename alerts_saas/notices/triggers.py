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
(`reconcile.update_rows`), and the check is queued after that. What PagerDuty did
(`paging_changed`) is queued at once, whoever's request saw it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save
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
# The organizations a request changed, while `MemberChanges` handles it.
_changed: ContextVar[set[int] | None] = ContextVar("notices_changed", default=None)


def check_after_commit(organization_id: int) -> None:
    transaction.on_commit(partial(reconcile_soon, organization_id))


def _check_after_change(organization_id: int) -> None:
    changed = _changed.get()
    if changed is None:
        check_after_commit(organization_id)
    else:
        changed.add(organization_id)


def _row_changed(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    organization_id = getattr(instance, "organization_id", None)
    if organization_id is not None:
        _check_after_change(organization_id)


def _targets_changed(sender: type[Model], instance: Model, action: str, **kwargs: Any) -> None:
    # `instance` is the alert, or the service when the change came from its side.
    if action in TARGET_CHANGES:
        _row_changed(sender, instance)


def _paging_changed(sender: type, organization_ids: frozenset[int], **kwargs: Any) -> None:
    for organization_id in organization_ids:
        check_after_commit(organization_id)


def _changed_in_request(sender: type, organization: Organization, **kwargs: Any) -> None:
    # The banner of the page shown next (or of this one) reads the rows: up to date now, in
    # the member's name, the emails left to the run.
    update_rows(organization, member_id=_member_id())


def _member_id() -> int | None:
    """The person acting in this request, if a signed-in person is (not an API token)."""
    actor = context.current().actor()
    return actor.user_id if actor.kind == ActorKind.USER else None


def _after_request(organization_ids: set[int]) -> None:
    """A person's changes (not an API token's, nor an ingest request's) bring the rows up to
    date in their name; then, or else, the check is queued."""
    try:
        member_id = _member_id()
        if member_id is not None:
            for organization in Organization.objects.filter(pk__in=organization_ids):
                update_rows(organization, member_id=member_id)
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
        changed: set[int] = set()
        reset = _changed.set(changed)
        try:
            return self.get_response(request)
        finally:
            _changed.reset(reset)
            if changed:
                _after_request(changed)


def connect() -> None:
    for model in (Alert, PagerDutyService, PagerDutyAccount):
        label = model._meta.label_lower
        post_save.connect(_row_changed, sender=model, dispatch_uid=f"notices-saved-{label}")
        post_delete.connect(_row_changed, sender=model, dispatch_uid=f"notices-deleted-{label}")
    m2m_changed.connect(
        _targets_changed, sender=Alert.targets.through, dispatch_uid="notices-alert-targets"
    )
    paging_changed.connect(_paging_changed, dispatch_uid="notices-paging-changed")
    changed_in_request.connect(_changed_in_request, dispatch_uid="notices-changed-in-request")
