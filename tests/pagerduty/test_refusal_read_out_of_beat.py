"""The read of PagerDuty's list that a refusal's first email waits for is a task of its own
(`notices.tasks.check_refusals`), not made inside beat's loop over the organizations (r17
item 3): PagerDuty's REST API slow for one organization's account holds up no other
organization's emails. The email waits for the read, never forever: a read that can't
reach PagerDuty, or one that never comes, lets it go with the words known."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alerts_saas.notices.reconcile import reconcile
from alerts_saas.notices.tasks import check_paging_problems, check_refusals
from integrations.pagerduty import paths
from integrations.pagerduty.models import PagerDutyService
from integrations.pagerduty.service_check import REFUSAL_READ_WAIT
from tests.delivery.sending import open_firing, send_queued
from tests.pagerduty.beat_reads import rest_calls

pytestmark = pytest.mark.django_db
HANG = 8.0  # seconds: under the REST client's timeout, so the read gets through, late


def _deleted_and_refused(org, service: PagerDutyService, pagerduty) -> None:
    open_firing(org, service, "Checkout errors")
    pagerduty.delete_service(service.pd_service_id)
    send_queued()  # PagerDuty refuses the key: its service is gone
    service.refresh_from_db()
    assert service.refused_at is not None


def test_a_slow_pagerduty_read_holds_up_no_other_organization(
    org, connected_service, pagerduty, make_org
):
    _deleted_and_refused(org, connected_service, pagerduty)
    other = make_org("Globex")  # checked after Acme in beat's loop
    pasted = PagerDutyService.objects.create(
        organization=other, name="Edge Gateway", region="us", integration_key="x" * 32
    )
    open_firing(other, pasted, "Edge errors")
    send_queued()  # PagerDuty does not know the pasted key
    pasted.refresh_from_db()
    assert pasted.refused_at is not None
    before = len(rest_calls(pagerduty))
    pagerduty.fault("rest-us", "hang", count=5, seconds=HANG)

    started = time.monotonic()
    check_paging_problems()
    assert time.monotonic() - started < HANG / 2  # no REST call waited for
    assert len(rest_calls(pagerduty)) == before
    [email] = mail.outbox  # Globex is told at once; Acme's email waits for the read
    assert email.to == ["owner@globex.example"]
    assert "Edge Gateway" in email.subject

    pagerduty.clear_faults()
    check_refusals(org.pk, [connected_service.pk])  # the read beat queued, then the run
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == (
        "[Tripwire] Paging broken in Acme Ops: Checkout API 001 was deleted in PagerDuty"
    )


def test_the_first_email_goes_when_the_read_fails_or_never_comes(org, connected_service, pagerduty):
    _deleted_and_refused(org, connected_service, pagerduty)
    assert reconcile(org).to_check == [connected_service.pk] and not mail.outbox
    later = timezone.now() + REFUSAL_READ_WAIT + timedelta(seconds=1)
    outcome = reconcile(org, now=later)  # the read never came: it goes with what is known
    assert outcome.to_check == [] and outcome.emails_sent == 1
    assert "deleted in PagerDuty" not in mail.outbox[0].subject


def test_a_read_that_cannot_reach_pagerduty_lets_the_email_go(org, connected_service, pagerduty):
    _deleted_and_refused(org, connected_service, pagerduty)
    pagerduty.fault("rest-us", "500", count=20)
    check_refusals(org.pk, [connected_service.pk])
    [email] = mail.outbox
    assert "Checkout API 001" in email.subject
    assert PagerDutyService.objects.get().refused_detail != paths.SERVICE_DELETED
