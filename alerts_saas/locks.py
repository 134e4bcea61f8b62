"""Row locks shared by the alerts app and the PagerDuty integration.

The integration never imports the alerts app (DESIGN.md, "Imports run one way"), yet both
lock alerts' rows the same way before writing about them; so the lock lives here, and each
side passes the model it reaches (`Alert`, or `service.alerts`' model).
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import models


def lock_rows_without_key(
    model: type[models.Model], organization_ids: Collection[int], pks: Collection[int]
) -> None:
    """Lock `model`'s rows `pks` of `organization_ids`, in pk order and FOR NO KEY UPDATE,
    in one query (none when `pks` is empty), until the transaction ends. In pk order so
    that two transactions locking overlapping rows wait instead of deadlocking; without
    the key so that rows referring to them (deliveries, firings) can still be written."""
    if not pks:
        return
    list(
        model._default_manager.select_for_update(no_key=True)
        .filter(organization_id__in=organization_ids, pk__in=pks)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
