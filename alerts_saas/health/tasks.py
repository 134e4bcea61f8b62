from celery import shared_task
from django.utils import timezone

from alerts_saas.health.models import Heartbeat

WORKER_HEARTBEAT = "worker"


@shared_task
def heartbeat() -> None:
    """Scheduled by beat, run by a worker: its timestamp proves both are alive."""
    Heartbeat.objects.update_or_create(name=WORKER_HEARTBEAT, defaults={"beat_at": timezone.now()})
