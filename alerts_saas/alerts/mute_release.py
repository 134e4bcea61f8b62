"""Paging what a mute held, once the mute is over (the beat, and "End now").

A held firing (`Firing.held`) is open and has not paged some of its targets because a
window muted them. Once a window no longer mutes a target, the target is paged if the
firing is still open, that is, if the condition still holds; a firing that cleared while
muted sent nothing and sends nothing; so does one whose condition cleared while muted and
that waits for a person to resolve it.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Firing
from alerts_saas.alerts.mutes import Mutes

log = logging.getLogger(__name__)


def release_due(organization_id: int | None = None) -> dict[str, int]:
    """Page the held targets no window mutes any more, for every held open firing (of one
    organization, if given). An alert whose release fails is logged and retried next time."""
    now = timezone.now()
    # A firing whose condition cleared but waits for a person to resolve it (the alert does
    # not resolve by itself) no longer holds: it pages nobody at the mute's end either.
    held = Firing.objects.filter(
        held=True, cleared_at__isnull=True, condition_cleared_at__isnull=True
    ).select_related("alert__organization")
    if organization_id is not None:
        held = held.filter(organization_id=organization_id)
    found = list(held.prefetch_related("alert__targets"))
    if not found:
        return {"held": 0, "released": 0, "failed": 0}
    windows = Mutes.load({f.organization_id for f in found}, now)
    due: dict[int, list[Firing]] = {}  # by alert: one alert's firings are released at once
    for firing in found:
        alert = firing.alert
        targets = [t.pk for t in alert.targets.all()]
        muted = windows.muted_targets(alert.pk, targets)
        if targets and len(muted) == len(targets):
            continue  # all still muted: nothing to page yet
        due.setdefault(alert.pk, []).append(firing)
    released = failed = 0
    for alert_id, its in due.items():
        try:
            released += len(firings.release_held_of(its, firings.totals_now(its)))
        except Exception:
            log.exception("Releasing alert %s's held firings failed; retrying next beat", alert_id)
            failed += len(its)
    return {"held": len(found), "released": released, "failed": failed}
