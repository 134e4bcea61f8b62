"""Row locks shared by the alerts app, the PagerDuty integration and an organization's
deletion.

The integration never imports the alerts app (DESIGN.md, "Imports run one way"), yet both
lock alerts' rows the same way before writing about them; so the lock lives here, and each
side passes the model it reaches (`Alert`, or `service.alerts`' model). Every lock here takes
its rows in pk order, in one query, so that two transactions locking overlapping rows wait
instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import models


def lock_rows_without_key(
    model: type[models.Model], organization_ids: Collection[int], pks: Collection[int]
) -> None:
    """Lock `model`'s rows `pks` of `organization_ids`, in pk order and FOR NO KEY UPDATE,
    in one query (none when `pks` is empty), until the transaction ends. Without the key so
    that rows referring to them (deliveries, firings) can still be written."""
    if not pks:
        return
    _lock(
        model._default_manager.filter(organization_id__in=organization_ids, pk__in=pks),
        no_key=True,
    )


def lock_all_rows_to_delete(model: type[models.Model], organization_id: int) -> None:
    """Lock every one of `model`'s rows of the organization `organization_id`, in pk order
    and FOR UPDATE (they are about to be deleted, key and all), in one query, until the
    transaction ends."""
    _lock(model._default_manager.filter(organization_id=organization_id), no_key=False)


def _lock(rows: models.QuerySet[models.Model], *, no_key: bool) -> None:
    list(rows.select_for_update(no_key=no_key).order_by("pk").values_list("pk", flat=True))
