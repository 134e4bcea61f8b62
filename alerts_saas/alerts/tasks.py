from __future__ import annotations

from celery import shared_task

from alerts_saas.alerts import evaluation, fallback_owed, mute_release, retention


@shared_task(ignore_result=True)
def evaluate_alerts() -> dict[str, int]:
    """Absence alerts and clearing: see `evaluation.evaluate`."""
    return evaluation.evaluate()


@shared_task(ignore_result=True)
def prune_counts() -> None:
    evaluation.prune()


@shared_task(ignore_result=True)
def prune_firings() -> int:
    """Delete cleared firings past retention, in capped batches: see `retention`."""
    return retention.prune_firings().deleted


@shared_task(ignore_result=True)
def prune_mute_windows() -> int:
    """Delete one-off mute windows ended past retention: see `retention`."""
    return retention.prune_mute_windows().deleted


@shared_task(ignore_result=True)
def release_held_firings() -> dict[str, int]:
    """Page what mute windows held, once they are over: see `mute_release`."""
    return mute_release.release_due()


@shared_task(ignore_result=True)
def page_owed_through_fallback() -> dict[str, int]:
    """Page through a fallback that can page the firings it owes a trigger (a heal's
    callback lost with its process): see `fallback_owed`."""
    return fallback_owed.page_owed()
