"""Paging-problem emails as a person receives them while changes are being made: a problem
or a fix that someone's own change made is not emailed to that person (the others are told),
while what PagerDuty did still reaches everyone; and what breaks or mends within the hold
(PROBLEM_EMAIL_HOLD_SECONDS) is one email, sent when the hold ends, by the run queued for
then or, if that run is lost, by beat's next check."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.db.models import F
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization, Role
from alerts_saas.alerts.models import Alert
from alerts_saas.celery import app
from alerts_saas.notices import tasks
from alerts_saas.notices.models import PagingProblem
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty import paths
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.notices.conftest import ADMIN, HOLD, OWNER
from tests.tenant_objects import _pd_account

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("held")]


def _to(address: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.to == [address]]


def _later(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)


def _service(org: Organization, name: str = "Checkout API", account=None) -> PagerDutyService:
    return PagerDutyService.objects.create(
        organization=org, account=account, name=name, integration_key="0" * 32
    )


def _alert(org: Organization, name: str, *targets: PagerDutyService) -> Alert:
    alert = Alert.objects.create(organization=org, name=name, threshold=1)
    alert.targets.set(targets)
    return alert


def _refuse(service: PagerDutyService) -> None:
    paths.record([paths.Outcome(service.pk, refused=True, detail="Invalid routing key")])


def _alert_form(name: str, targets: list[int]) -> dict[str, object]:
    """The alert form as a browser posts it."""
    return {
        "name": name,
        "description": "",
        "severity": "critical",
        "summary_template": "{alert}: {count} errors in {window} ({org})",
        "source": "checkout-api",
        "component": "payments",
        "group": "prod",
        "event_class": "",
        "kind": "presence",
        "match_app": name.lower().replace(" ", "-"),
        "threshold": "5",
        "window_minutes": "5",
        "targets": [str(t) for t in targets],
        "details-TOTAL_FORMS": "0",
        "details-INITIAL_FORMS": "0",
        "details-MIN_NUM_FORMS": "0",
        "details-MAX_NUM_FORMS": "50",
    }


def _create_alert(client: Client, org: Organization, name: str, targets: list[int]) -> Alert:
    response = client.post(f"/o/{org.slug}/alerts/new/", _alert_form(name, targets))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Alert.objects.get(organization=org, name=name)


def _delete_leaving_nobody(client: Client, org: Organization, service: PagerDutyService) -> None:
    """Delete the service from Tripwire, confirming its alerts will page nobody."""
    alerts = ",".join(str(pk) for pk in service.alerts.order_by("pk").values_list("pk", flat=True))
    response = client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/delete/",
        {"seen": alerts, "alerts": "nobody"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not PagerDutyService.objects.filter(pk=service.pk).exists()


def _paste(client: Client, org: Organization, name: str, key: str) -> PagerDutyService:
    response = client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/keys/",
        {"name": name, "integration_key": key * 32, "region": "us"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return PagerDutyService.objects.get(organization=org, name=name)


# -- Her own changes -----------------------------------------------------------------------


def test_an_owner_is_not_emailed_about_her_own_changes_and_the_admin_gets_one_email_each_time(
    org, admin_client, admin
):
    """The owner deletes two services from Tripwire, leaving their alerts paging nobody,
    then disables one alert and deletes the other: before, emails to her about each; none
    now. The admin, who saw none of it, gets one email for the breakage and one for the
    fixes."""
    base = f"/o/{org.slug}/alerts"
    checkout = _paste(admin_client, org, "Checkout", "a")
    edge = _paste(admin_client, org, "Edge", "b")
    on_checkout = _create_alert(admin_client, org, "Checkout errors", [checkout.pk])
    on_edge = _create_alert(admin_client, org, "Edge heartbeat", [edge.pk])
    _delete_leaving_nobody(admin_client, org, checkout)
    _delete_leaving_nobody(admin_client, org, edge)
    after_breaking = timezone.now()

    reconcile(org, now=_later(after_breaking, HOLD + 1))
    assert _to(OWNER) == []
    [broken] = _to(ADMIN)
    assert broken.subject == "[Tripwire] Acme Ops: 2 new paging problems"
    assert "Checkout errors pages nobody" in broken.body
    assert "Edge heartbeat pages nobody" in broken.body

    assert admin_client.post(f"{base}/{on_edge.pk}/toggle/", {"enabled": "0"}).status_code == 302
    assert admin_client.post(f"{base}/{on_checkout.pk}/delete/").status_code == 302
    after_mending = timezone.now()

    reconcile(org, now=_later(after_mending, HOLD + 1))
    reconcile(org, now=_later(after_mending, 3 * HOLD))
    assert _to(OWNER) == []
    assert len(_to(ADMIN)) == 2
    fixed = _to(ADMIN)[-1]
    assert fixed.subject == "[Tripwire] Acme Ops: 2 fixed"
    assert "The alert was disabled: it pages nobody on purpose." in fixed.body
    assert "The alert was deleted." in fixed.body


def test_a_problem_she_made_that_still_stands_a_day_on_is_a_reminder_to_her_too(
    org, admin_client, admin
):
    edge = _paste(admin_client, org, "Edge", "b")
    _create_alert(admin_client, org, "Edge heartbeat", [edge.pk])
    _delete_leaving_nobody(admin_client, org, edge)
    reconcile(org, now=_later(timezone.now(), HOLD + 1))
    assert _to(OWNER) == [] and len(_to(ADMIN)) == 1

    PagingProblem.objects.update(last_notified_at=timezone.now() - timedelta(hours=25))
    reconcile(org, now=_later(timezone.now(), HOLD + 1))
    [reminder] = _to(OWNER)
    assert reminder.subject == "[Tripwire] Still broken in Acme Ops: Edge heartbeat pages nobody"
    assert _to(ADMIN)[-1].subject == reminder.subject


def test_what_pagerduty_did_reaches_her_even_when_her_own_change_brought_it_to_light(
    org, admin_client, admin
):
    """PagerDuty refused a key, deleted a service and withdrew an account's access; the
    owner's own request (a service deleted, its alert left paging nobody) is what first
    records them as problems. She is emailed about PagerDuty's three, within the hold, not
    about her alert; the admin about all four."""
    account = _pd_account(org, org.memberships.get(role=Role.OWNER).user)
    refused = _service(org, "Checkout API")
    deleted = _service(org, "Search", account=account)
    _alert(org, "Checkout errors", refused)
    _alert(org, "Search errors", deleted)
    _refuse(refused)
    paths.mark_removed(org.pk, {deleted.pk: paths.SERVICE_DELETED})
    PagerDutyAccount.objects.filter(pk=account.pk).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT, refused_at=timezone.now()
    )
    edge = _service(org, "Edge")
    _alert(org, "Edge heartbeat", edge)
    _delete_leaving_nobody(admin_client, org, edge)
    seen = timezone.now()

    reconcile(org, now=_later(seen, HOLD + 1))
    [hers] = _to(OWNER)
    assert hers.subject == (
        "[Tripwire] Acme Ops: 2 new paging problems, 1 PagerDuty account to reconnect "
        "(pages still go out)"
    )
    assert "PagerDuty refuses Checkout API" in hers.body
    assert "Search was deleted in PagerDuty" in hers.body
    assert f"PagerDuty account {account.name} needs reconnecting" in hers.body
    assert "Edge heartbeat" not in hers.body
    [theirs] = _to(ADMIN)
    assert theirs.subject == (
        "[Tripwire] Acme Ops: 3 new paging problems, 1 PagerDuty account to reconnect "
        "(pages still go out)"
    )
    assert "Edge heartbeat pages nobody" in theirs.body


# -- Held, then one email --------------------------------------------------------------------


def test_problems_that_start_within_the_hold_are_one_email_sent_when_it_ends(org):
    _alert(org, "Edge heartbeat")
    service = _service(org)
    _alert(org, "Checkout errors", service)
    start = timezone.now()
    outcome = reconcile(org, now=start)
    assert mail.outbox == []
    assert outcome.held_until == _later(start, HOLD)

    _refuse(service)
    assert reconcile(org, now=_later(start, 30)).emails_sent == 0
    assert reconcile(org, now=_later(start, HOLD - 1)).emails_sent == 0
    assert mail.outbox == []

    assert reconcile(org, now=_later(start, HOLD)).emails_sent == 1
    assert reconcile(org, now=_later(start, 3 * HOLD)).emails_sent == 0
    [email] = mail.outbox
    assert email.to == [OWNER]
    assert email.subject == "[Tripwire] Acme Ops: 2 new paging problems"
    assert "PagerDuty refuses Checkout API" in email.body
    assert "Edge heartbeat pages nobody" in email.body


def test_a_refusal_mended_within_the_hold_is_one_email_saying_so(org):
    service = _service(org)
    _alert(org, "Checkout errors", service)
    _refuse(service)
    start = timezone.now()
    reconcile(org, now=start)
    paths.heal([service.pk])  # a delivery got through
    assert reconcile(org, now=_later(start, 40)).closed == [f"refused:service:{service.pk}"]
    assert mail.outbox == []

    reconcile(org, now=_later(start, HOLD))
    reconcile(org, now=_later(start, 3 * HOLD))
    [email] = mail.outbox
    assert email.subject == (
        "[Tripwire] Paging was broken for less than a minute in Acme Ops, fixed now: "
        "PagerDuty refuses Checkout API"
    )
    assert "PagerDuty refuses Checkout API: broken for less than a minute, fixed now." in (
        email.body
    )
    assert "A delivery to it succeeded: it pages again." in email.body
    assert "an alert that fired in between may have paged nobody" in email.body
    assert "Nothing else is broken in Acme Ops's paging." in email.body


def test_an_alert_left_without_a_service_for_a_moment_is_no_email_at_all(org):
    alert = _alert(org, "Edge heartbeat")
    start = timezone.now()
    reconcile(org, now=start)
    alert.targets.add(_service(org))
    reconcile(org, now=_later(start, 20))
    reconcile(org, now=_later(start, 3 * HOLD))
    assert mail.outbox == []


# -- Sent by the run queued for the end of the hold, or by beat's next check ----------------


def _held_runs() -> list[tuple[int, datetime]]:
    """The paging checks waiting on the real broker with a time to start: (organization,
    when)."""
    found = []
    with app.connection_for_write() as conn:
        queue = conn.SimpleQueue("celery", no_ack=True)
        try:
            while True:
                message = queue.get(block=False)
                headers = message.headers
                if headers.get("task") == tasks.reconcile_organization.name and headers["eta"]:
                    organization = int(headers["argsrepr"].strip("(),"))
                    found.append((organization, datetime.fromisoformat(headers["eta"])))
        except queue.Empty:
            pass
        finally:
            queue.close()
    return found


def test_the_held_email_is_queued_for_the_end_of_the_hold_and_beat_sends_it_if_that_is_lost(
    org,
):
    app.control.purge()
    _alert(org, "Edge heartbeat")
    tasks.reconcile_organization(org.pk)
    assert mail.outbox == []
    opened = PagingProblem.objects.get().opened_at
    [(organization, eta)] = _held_runs()  # read off the broker: that run is lost
    assert organization == org.pk
    assert _later(opened, HOLD) <= eta <= _later(opened, HOLD + 2)

    tasks.check_paging_problems()  # beat, within the hold: not yet
    assert mail.outbox == []
    PagingProblem.objects.update(opened_at=F("opened_at") - timedelta(seconds=HOLD))
    tasks.check_paging_problems()  # beat, after it
    [email] = mail.outbox
    assert email.subject == "[Tripwire] Paging broken in Acme Ops: Edge heartbeat pages nobody"
    app.control.purge()


def test_the_notification_settings_say_how_long_the_first_email_waits(admin_client):
    page = " ".join(admin_client.get("/notifications/").content.decode().split())
    assert (
        "The first email waits 60 seconds for whatever else breaks or is fixed at the same "
        "time, and tells it all at once." in page
    )
    assert "A problem your own change made, or the fix you made, is not emailed to you" in page
