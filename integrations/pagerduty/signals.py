"""What the PagerDuty integration tells the rest of the product without importing it.

`paging_changed` is sent when something changed whether an organization's services can page
and no model signal says so, because it was written with a queryset update: the engine
marking a service refused or failing (`paths.record`), token refresh marking an account to
reconnect (`tokens.py`). Receivers get `organization_ids` (a frozenset) and run inside the
sender's transaction: queue work with `transaction.on_commit`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.dispatch import Signal

paging_changed = Signal()
# Services connected through OAuth (`services`: a list), sent once they are saved.
services_connected = Signal()
# Services about to be removed (`services`: a list), sent inside the removal's transaction.
services_removing = Signal()
# Deliveries got through to services marked refused or failing (`services`: their ids by
# organization id), sent inside the transaction that clears their marks (`paths.heal`): the
# alerts app pages there again what their failure kept from paging.
paths_healed = Signal()
# A change made on the settings pages is committed and the person is about to see the next
# page (`organization`): receivers bring what that page shows up to date now (the paging
# banner), rather than in a queued run that may come after the page.
changed_in_request = Signal()


def announce(sender: type, organization_ids: Iterable[int]) -> None:
    """Send `paging_changed` for these organizations. Nothing is read from
    `organization_ids` (a queryset, say) unless someone listens."""
    if not paging_changed.has_listeners(sender):
        return
    ids = frozenset(organization_ids)
    if ids:
        paging_changed.send(sender=sender, organization_ids=ids)
