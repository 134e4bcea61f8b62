"""An open firing follows its alert's targets when they change from the service's side.

`integrations.pagerduty` never imports this app (docs/DESIGN.md, "Layout"). When it moves
alerts to another service, before removing theirs (`integrations.pagerduty.removal`), it
adds them from the service's side: `service.alerts.add(...)`. This receiver of
`m2m_changed` on `Alert.targets` (connected in apps.py) then syncs the touched alerts'
open firings in the same transaction, all at once (`firings.sync_open_firings_of`): the
new service is triggered at once, and nothing is if the transaction rolls back. A service
taken off alerts from its side (`service.alerts.remove(...)`) resolves its incidents the
same way.

Changes from the alert's side are left to whoever makes them: the alert form re-evaluates
the saved alert as a whole (`evaluation.reevaluate`), which knows whether the firing
outlives the edit, so a new target is never paged for a firing about to clear.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert

SYNCED_ACTIONS = frozenset({"post_add", "post_remove"})


def sync_open_firings_on_service_side_change(
    sender: Any,
    instance: Any,
    action: str,
    reverse: bool,
    pk_set: Collection[int] | None,
    **kwargs: Any,
) -> None:
    """m2m_changed on `Alert.targets`: when a service's alerts changed (`reverse`), sync
    the open firings of every enabled alert it added or removed, all at once (a removal
    moves many): the same queries for 30 alerts as for 3."""
    if not reverse or action not in SYNCED_ACTIONS or not pk_set:
        return
    alerts = Alert.objects.filter(pk__in=pk_set, enabled=True).select_related("organization")
    firings.sync_open_firings_of(list(alerts.order_by("pk")))
