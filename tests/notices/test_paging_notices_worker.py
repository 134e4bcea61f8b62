"""Paging problems end to end: each breakage made for real (the sandbox refusing a removed
integration, PagerDuty failing for good, a revoked grant, an alert left without a service)
reaches the owner as one email sent by a real Celery worker, shows in the banner, is
reminded when due and cleared when fixed."""

from __future__ import annotations

import email
import email.policy
import re
import time
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.notices.models import PagingProblem
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, PagerDutyAccount, PagerDutyService
from integrations.pagerduty.tokens import TokenRefreshError, refresh_tokens
from tests.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SEPARATOR = "\n" + "-" * 79 + "\n"
OWNER = "owner@acme.example"


@pytest.fixture
def mailbox(tmp_path: Path) -> Path:
    folder = tmp_path / "mail"
    folder.mkdir()
    return folder


@pytest.fixture
def worker_settings(mailbox: Path) -> dict[str, str]:
    """The worker writes its mail to files the test reads; retries start at 1 s."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mailbox),
        "DELIVERY_RETRY_BASE": "1",
    }


def _mails(folder: Path) -> list[EmailMessage]:
    """Every email the worker wrote, oldest first."""
    found = []
    for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime_ns):
        for chunk in path.read_text().split(SEPARATOR):
            if chunk.strip():
                message = email.message_from_string(chunk, policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                found.append(message)
    return found


def _wait_for_mail(folder: Path, count: int, timeout: float = 30) -> list[EmailMessage]:
    """Wait for the `count`th email, then make sure no other follows it."""
    wait_for(
        lambda: len(_mails(folder)) >= count,
        timeout=timeout,
        interval=0.2,
        message=f"email number {count}",
    )
    time.sleep(2)  # anything else the worker was going to send
    mails = _mails(folder)
    assert len(mails) == count, [m["Subject"] for m in mails]
    return mails


def _body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _alert(org, name: str, *targets: PagerDutyService) -> Alert:
    with transaction.atomic():  # as the alert form saves: one commit, targets included
        alert = Alert.objects.create(organization=org, name=name, threshold=1)
        alert.targets.set(targets)
    return alert


def _fire(alert: Alert) -> Firing:
    with transaction.atomic():
        firing = firings.open_firing(alert, 5, timezone.now())
    assert firing is not None
    return firing


def _final(deliveries: list[Delivery], timeout: float = 30) -> list[Delivery]:
    ids = [d.pk for d in deliveries]

    def done() -> list[Delivery] | None:
        rows = list(Delivery.objects.filter(pk__in=ids))
        return rows if all(r.is_final for r in rows) else None

    return wait_for(done, timeout=timeout, interval=0.2, message="the deliveries to settle")


def _check_now() -> None:
    """What beat does every minute, queued to the worker now."""
    from alerts_saas.notices.tasks import check_paging_problems

    check_paging_problems.delay()


def _banner(client, org) -> str:
    page = client.get(f"/o/{org.slug}/alerts/").content.decode()
    start = page.find('<aside class="paging-banner')
    return page[start : page.find("</aside>", start)] if start >= 0 else ""


def test_a_key_pagerduty_refuses_is_one_email_a_banner_a_reminder_and_an_all_clear(
    celery_worker, org, make_service, pagerduty, admin_client, mailbox
):
    service = make_service("Checkout API 001")
    pagerduty.remove_integration(service.integration_id)  # removed in PagerDuty's web app
    alerts = [_alert(org, f"Checkout errors {n}", service) for n in range(3)]

    # Three firings, three triggers refused: one problem, one email.
    triggers = [d for alert in alerts for d in _fire(alert).deliveries.all()]
    assert all(d.status == Delivery.Status.FAILED for d in _final(triggers))
    [mail] = _wait_for_mail(mailbox, 1)
    assert mail["To"] == OWNER
    assert mail["Subject"] == (
        "[Tripwire] Paging broken in Acme Ops: PagerDuty refuses Checkout API 001"
    )
    body = _body(mail)
    assert "Invalid routing key" in body
    assert (
        "Alerts that now page nobody: Checkout errors 0, Checkout errors 1 and Checkout errors 2."
        in body
    )
    assert (
        f"Fix it in Integrations: http://127.0.0.1:8000/o/{org.slug}/settings/integrations/"
        f"#service-{service.pk}" in body
    )
    banner = _banner(admin_client, org)
    assert "Paging problem:</strong> PagerDuty refuses Checkout API 001" in banner
    assert f'href="/o/{org.slug}/settings/integrations/#service-{service.pk}"' in banner

    # A day on, beat's check reminds once.
    PagingProblem.objects.update(last_notified_at=timezone.now() - timedelta(hours=25))
    _check_now()
    reminder = _wait_for_mail(mailbox, 2)[-1]
    assert reminder["Subject"].startswith("[Tripwire] Still broken in Acme Ops: PagerDuty refuses")

    # A new integration's key, and a test alert that gets through, heal it: one all-clear.
    integration = pagerduty.add_integration(
        next(s for s in pagerduty.account("us")["services"] if s["name"] == "Checkout API 001")[
            "id"
        ]
    )
    PagerDutyService.objects.filter(pk=service.pk).update(
        integration_key=integration["integration_key"]
    )
    admin_client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/test/",
        {"confirm": "1"},
    )
    wait_for(
        lambda: PagerDutyService.objects.get(pk=service.pk).refused_at is None,
        message="the service to heal",
    )
    _check_now()
    fixed = _wait_for_mail(mailbox, 3)[-1]
    assert fixed["Subject"] == "[Tripwire] Fixed in Acme Ops: PagerDuty refuses Checkout API 001"
    assert "A delivery to it succeeded: it pages again." in _body(fixed)
    assert _banner(admin_client, org) == ""


def test_deliveries_failing_for_good_are_one_email(
    make_worker, org, make_service, pagerduty, admin_client, mailbox
):
    from alerts_saas.celery import app

    app.control.purge()
    make_worker(DELIVERY_GIVE_UP_AFTER="1")  # the first 500 is the last try
    service = make_service("Checkout API 001")
    alert = _alert(org, "Checkout errors", service)
    pagerduty.fault("events-us", "500", count=20)
    with transaction.atomic():
        deliveries = engine.queue(
            [
                engine.build_event(service, "trigger", f"evt-{n}", {"summary": f"evt {n}"})
                for n in range(5)
            ]
        )
    assert {d.status for d in _final(deliveries)} == {Delivery.Status.FAILED}
    [mail] = _wait_for_mail(mailbox, 1)
    assert mail["Subject"] == (
        "[Tripwire] Paging broken in Acme Ops: Deliveries to Checkout API 001 are failing"
    )
    body = _body(mail)
    # One attempt, or two when a claim's lease ran out under load: the words, not the count.
    assert re.search(r"Gave up after \d+ attempts", body), body
    assert "PagerDuty answered 500" in body, body
    assert f"Alerts whose pages to it may fail: {alert.name}." in body
    assert f"/o/{org.slug}/settings/integrations/pagerduty/services/{service.pk}/deliveries/" in (
        body
    )
    assert "Deliveries to Checkout API 001 are failing" in _banner(admin_client, org)


def test_an_account_to_reconnect_is_one_email_and_reconnecting_clears_it(
    celery_worker, org, connected_service, connect, pagerduty, admin_client, add_member, mailbox
):
    add_member(org, "admin@acme.example", "admin")
    _alert(org, "Checkout errors", connected_service)
    account = PagerDutyAccount.objects.get()
    pagerduty.revoke_tokens(all=True)
    with pytest.raises(TokenRefreshError):
        refresh_tokens(account)
    mails = _wait_for_mail(mailbox, 2)  # PagerDuty's doing: the owner and the admin
    assert sorted(m["To"] for m in mails) == ["admin@acme.example", OWNER]
    mail = mails[0]
    assert mail["Subject"] == (
        "[Tripwire] Reconnect PagerDuty in Acme Ops: acknowledging and on-call from Tripwire "
        "stopped; pages still go out"
    )
    assert "Pages still go out in Acme Ops" in _body(mail)
    assert "invalid_grant" not in _body(mail)
    banner = _banner(admin_client, org)
    assert "needs reconnecting since <time" in banner
    assert f'pages still go out — <a href="/o/{org.slug}/settings/integrations/#account-' in banner

    connect(admin_client)  # the owner, through OAuth again: the same account, active
    fixed = _wait_for_mail(mailbox, 3)[-1]  # to the admin: the owner did it herself
    assert fixed["To"] == "admin@acme.example"
    assert (
        fixed["Subject"] == f"[Tripwire] Reconnected in Acme Ops: PagerDuty account {account.name}"
    )
    assert "The PagerDuty account was reconnected." in _body(fixed)
    assert _banner(admin_client, org) == ""


def test_an_alert_that_pages_nobody_and_the_service_that_fixes_it(
    celery_worker, org, make_service, pagerduty, admin_client, add_member, mailbox
):
    add_member(org, "admin@acme.example", "admin")
    quiet = add_member(org, "quiet@acme.example", "admin")
    quiet.email_paging_problems = False
    quiet.save()
    add_member(org, "member@acme.example", "member")
    alert = _alert(org, "Edge heartbeat missing")
    mails = _wait_for_mail(mailbox, 2)  # the owner and the admin, not the others
    assert sorted(m["To"] for m in mails) == ["admin@acme.example", OWNER]
    assert {m["Subject"] for m in mails} == {
        "[Tripwire] Paging broken in Acme Ops: Edge heartbeat missing pages nobody"
    }
    assert "Edge heartbeat missing pages nobody" in _banner(admin_client, org)

    alert.targets.add(make_service("Checkout API 001"))
    fixed = _wait_for_mail(mailbox, 4)[2:]
    assert {m["Subject"] for m in fixed} == {
        "[Tripwire] Fixed in Acme Ops: Edge heartbeat missing pages nobody"
    }
    assert _banner(admin_client, org) == ""


def test_one_organizations_breakage_is_mailed_to_its_own_people_only(
    celery_worker, org, make_org, make_user, admin_client, mailbox
):
    other = make_org("Globex", owner=make_user("boss@globex.example"))
    _alert(other, "Globex heartbeat")
    [mail] = _wait_for_mail(mailbox, 1)
    assert mail["To"] == "boss@globex.example" and "Globex" in mail["Subject"]
    assert _banner(admin_client, org) == ""
    assert admin_client.get(f"/o/{other.slug}/problems/").status_code == 404


def test_problems_within_the_hold_are_one_email_sent_by_the_run_queued_for_its_end(
    make_worker, org, mailbox
):
    """No beat here: the email goes because the worker's check queued a run for the end of
    the hold, and it tells both problems, the second seen while the first was held."""
    from alerts_saas.celery import app

    app.control.purge()
    make_worker(PROBLEM_EMAIL_HOLD_SECONDS="4")
    _alert(org, "Edge heartbeat missing")
    wait_for(PagingProblem.objects.exists, timeout=30, interval=0.2, message="the first problem")
    _alert(org, "Disk full")
    wait_for(
        lambda: PagingProblem.objects.count() == 2, timeout=30, interval=0.2, message="the second"
    )
    [mail] = _wait_for_mail(mailbox, 1)
    assert mail["Subject"] == "[Tripwire] Acme Ops: 2 new paging problems"
    body = _body(mail)
    assert "Edge heartbeat missing pages nobody" in body and "Disk full pages nobody" in body
