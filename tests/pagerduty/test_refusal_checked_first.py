"""When PagerDuty refuses the key of a service connected through OAuth, Tripwire reads the
account's services (the service check's own read) before the problem's first email, so the
words and the email say which it is: the service deleted in PagerDuty (connect another), or
only Tripwire's integration removed (choose it again under "Add services"), never "probably
removed" for a deleted service that "Add services" can't offer (new customer's walk r15,
item 4). The read is a task of its own (`notices.tasks.check_refusals`), out of beat's loop
over the organizations: the run holds the first email until it is done (r17 item 3)."""

from __future__ import annotations

import pytest
from django.core import mail

from alerts_saas.notices.models import PagingProblem
from alerts_saas.notices.reconcile import reconcile
from alerts_saas.notices.tasks import check_refusals
from integrations.pagerduty import paths
from integrations.pagerduty.models import PagerDutyService
from tests.dashboard.test_dashboard import text
from tests.delivery.sending import open_firing, send_queued
from tests.pagerduty.beat_reads import rest_calls

pytestmark = pytest.mark.django_db


def _read_then_reconcile(org, service: PagerDutyService) -> None:
    """The run the refusal queues: it reads nothing from PagerDuty and holds the first
    email; the read it asks for runs, then the run again, which sends it."""
    outcome = reconcile(org)
    assert outcome.to_check == [service.pk] and outcome.held_until is not None
    assert not mail.outbox
    check_refusals(org.pk, outcome.to_check)


def _refused(service: PagerDutyService) -> PagerDutyService:
    service.refresh_from_db()
    assert service.refused_at is not None
    return service


def test_a_deleted_service_is_said_deleted_in_the_first_email(
    org, connected_service, pagerduty, admin_client
):
    open_firing(org, connected_service, "Checkout errors")
    pagerduty.delete_service(connected_service.pd_service_id)
    send_queued()  # PagerDuty refuses the key: its service is gone
    assert _refused(connected_service).refused_detail != paths.SERVICE_DELETED
    before = len(rest_calls(pagerduty))

    _read_then_reconcile(org, connected_service)
    assert _refused(connected_service).refused_detail == paths.SERVICE_DELETED
    gone = f"/rest/us/services/{connected_service.pd_service_id}"
    read = rest_calls(pagerduty)[before:]  # the list (a page of 100 a call), then the service
    assert set(read[:-1]) == {"GET /rest/us/services"} and read[-1] == f"GET {gone}"
    [email] = mail.outbox
    assert email.subject == (
        "[Tripwire] Paging broken in Acme Ops: Checkout API 001 was deleted in PagerDuty"
    )
    assert "It was deleted in PagerDuty, so pages to it can't get through." in email.body
    assert "probably removed" not in email.body and "Add services" not in email.body
    [row] = PagingProblem.objects.all()
    assert row.title == "Checkout API 001 was deleted in PagerDuty"
    dashboard = text(admin_client.get(f"/o/{org.slug}/").content.decode())
    assert "Checkout API 001 was deleted in PagerDuty" in dashboard
    assert "probably removed" not in dashboard


def test_an_integration_removed_is_said_so_with_its_mend(org, connected_service, pagerduty):
    open_firing(org, connected_service, "Checkout errors")
    pagerduty.remove_integration(connected_service.integration_id)
    send_queued()
    _read_then_reconcile(org, connected_service)
    assert _refused(connected_service).refused_detail == paths.INTEGRATION_REMOVED
    [email] = mail.outbox
    assert "Tripwire's integration was removed from it in PagerDuty" in email.body
    assert "Choose it again under “Add services” to give it a new integration." in email.body
    assert "probably" not in email.body


def test_a_pasted_key_is_not_read_and_a_told_refusal_is_not_read_again(
    org, connected_service, pagerduty, make_service
):
    pasted = make_service("Edge Gateway")
    paths.record([paths.Outcome(pasted.pk, refused=True, detail="Invalid routing key")])
    pagerduty.remove_integration(connected_service.integration_id)
    open_firing(org, connected_service, "Checkout errors")
    send_queued()
    before = len(rest_calls(pagerduty))
    # The account is read once for the connected one, the pasted one never.
    _read_then_reconcile(org, connected_service)
    assert len(rest_calls(pagerduty)) > before
    after = len(rest_calls(pagerduty))
    reconcile(org)  # told: not read again
    assert len(rest_calls(pagerduty)) == after
