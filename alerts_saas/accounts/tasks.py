from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from alerts_saas.accounts.models import Invitation

KEEP_ENDED_INVITATIONS = timedelta(days=30)


@shared_task
def purge_stale_invitations() -> int:
    """Delete invitations that ended (expired or withdrawn) more than 30 days ago."""
    cutoff = timezone.now() - KEEP_ENDED_INVITATIONS
    deleted, _ = (
        Invitation.objects.filter(accepted_at__isnull=True)
        .filter(Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff))
        .delete()
    )
    return deleted
