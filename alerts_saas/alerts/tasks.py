from __future__ import annotations

from celery import shared_task

from alerts_saas.alerts import evaluation


@shared_task(ignore_result=True)
def evaluate_alerts() -> dict[str, int]:
    """Absence alerts and clearing: see `evaluation.evaluate`."""
    return evaluation.evaluate()


@shared_task(ignore_result=True)
def prune_counts() -> None:
    evaluation.prune()
