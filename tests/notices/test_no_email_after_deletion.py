"""No paging-problem email goes out for an organization once it is deleted: the emails
held for what else breaks (PROBLEM_EMAIL_HOLD_SECONDS) are owed by its problem rows, which
go with it, and the run queued for the end of the hold, or beat's check after it, finds
nothing to send (checked: no code change was needed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db.models import F
from django.test import Client

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from alerts_saas.celery import app
from alerts_saas.notices import tasks
from alerts_saas.notices.models import PagingProblem
from tests.notices.conftest import HOLD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("held")]


def test_an_email_held_when_the_organization_is_deleted_is_never_sent(
    admin_client: Client, org: Organization
) -> None:
    app.control.purge()
    Alert.objects.create(organization=org, name="Edge heartbeat", threshold=1)
    tasks.reconcile_organization(org.pk)  # seen: its email held for the hold
    assert PagingProblem.objects.filter(organization=org, notified_at__isnull=True).exists()
    assert mail.outbox == []
    PagingProblem.objects.update(opened_at=F("opened_at") - timedelta(seconds=HOLD + 1))

    response = admin_client.post(f"/o/{org.slug}/settings/delete/", {"name": org.name})
    assert response.status_code == 302
    assert not Organization.objects.filter(pk=org.pk).exists()

    assert tasks.reconcile_organization(org.pk) == "organization gone"  # the held run
    tasks.check_paging_problems()  # beat, after the hold
    assert mail.outbox == []
    assert not PagingProblem.objects.filter(organization_id=org.pk).exists()
    app.control.purge()
