"""The changes that can break or mend an organization's paging, each queuing a check of its
problems once committed (`tasks.reconcile_soon`): an alert saved, deleted or given other
services; a PagerDuty service or account saved or deleted; and what the PagerDuty
integration announces that no model signal shows (`integrations.pagerduty.signals`: a
service refused or failing, an account to reconnect). A change made on the integration's
settings pages (`signals.changed_in_request`) also brings the rows up to date at once, for
the banner of the page shown next."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from alerts_saas.notices.reconcile import update_rows
from alerts_saas.notices.tasks import reconcile_soon
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.signals import changed_in_request, paging_changed

TARGET_CHANGES = {"post_add", "post_remove", "post_clear"}


def check_after_commit(organization_id: int) -> None:
    transaction.on_commit(partial(reconcile_soon, organization_id))


def _row_changed(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    organization_id = getattr(instance, "organization_id", None)
    if organization_id is not None:
        check_after_commit(organization_id)


def _targets_changed(sender: type[Model], instance: Model, action: str, **kwargs: Any) -> None:
    # `instance` is the alert, or the service when the change came from its side.
    if action in TARGET_CHANGES:
        _row_changed(sender, instance)


def _paging_changed(sender: type, organization_ids: frozenset[int], **kwargs: Any) -> None:
    for organization_id in organization_ids:
        check_after_commit(organization_id)


def _changed_in_request(sender: type, organization: Organization, **kwargs: Any) -> None:
    # The next page's banner reads the rows: up to date now, the emails left to the run.
    update_rows(organization)


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
