"""Paging problems in one process: what opens and closes them, the emails (one per problem,
a reminder when due, the all-clear), who gets them, the banner, and the pages."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Membership, Role
from alerts_saas.alerts.models import Alert
from alerts_saas.alerts.problems import problems
from alerts_saas.notices import tasks
from alerts_saas.notices.models import PagingProblem
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty import paths
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.tenant_objects import _pd_account

pytestmark = pytest.mark.django_db


def _service(org, name: str = "Checkout API", account=None) -> PagerDutyService:
    return PagerDutyService.objects.create(
        organization=org, account=account, name=name, integration_key="0" * 32
    )


def _alert(org, name: str, *targets: PagerDutyService, enabled: bool = True) -> Alert:
    alert = Alert.objects.create(organization=org, name=name, threshold=1, enabled=enabled)
    alert.targets.set(targets)
    return alert


def _refuse(service: PagerDutyService) -> None:
    paths.record([paths.Outcome(service.pk, refused=True, detail="Invalid routing key")])


def _to(address: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.to == [address]]


OWNER = "owner@acme.example"


# -- What is broken, as `health.problems` says ----------------------------------------------


def test_problems_say_which_alerts_page_nobody_and_which_page_fewer_services(org):
    refused, healthy, other_refused = _service(org, "A"), _service(org, "B"), _service(org, "C")
    _alert(org, "Only refused", refused)
    _alert(org, "Refused and healthy", refused, healthy)
    _alert(org, "Two refused", refused, other_refused)
    _alert(org, "Off", refused, enabled=False)
    _refuse(refused)
    _refuse(other_refused)
    by_key = {p.key: p for p in problems(org)}
    first = by_key[f"refused:service:{refused.pk}"]
    assert first.alerts == ("Only refused", "Refused and healthy", "Two refused")
    assert first.silenced == ("Only refused", "Two refused")
    assert by_key[f"refused:service:{other_refused.pk}"].silenced == ("Two refused",)

    # An account to reconnect silences nobody: its services' keys still take events.
    account = _pd_account(org, org.memberships.get().user)
    linked = _service(org, "D", account=account)
    _alert(org, "Via account", linked)
    PagerDutyAccount.objects.filter(pk=account.pk).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT
    )
    reconnect = {p.key: p for p in problems(org)}[f"reconnect:account:{account.pk}"]
    assert reconnect.alerts == ("Via account",) and reconnect.silenced == ()
    assert reconnect.fix.url == f"/o/{org.slug}/settings/integrations/#account-{account.pk}"


# -- Opening, emails, reminders, the all-clear ----------------------------------------------


def test_a_refused_service_opens_one_problem_and_one_email_however_often_it_is_seen(org):
    service = _service(org)
    _alert(org, "Checkout errors", service)
    _alert(org, "Checkout latency", service, _service(org, "Backup"))
    _refuse(service)

    outcome = reconcile(org)
    assert outcome.opened == [f"refused:service:{service.pk}"] and outcome.emails_sent == 1
    for _ in range(3):  # later runs, and further refusals of the same service
        _refuse(service)
        assert reconcile(org).emails_sent == 0
    [email] = mail.outbox
    assert email.to == [OWNER]
    assert email.subject == "[Tripwire] Paging broken in Acme Ops: PagerDuty refuses Checkout API"
    body = email.body
    assert "Paging is broken in Acme Ops." in body
    assert "Invalid routing key" in body
    assert "Alerts that now page nobody: Checkout errors." in body
    assert "Alerts that still page someone: Checkout latency." in body
    assert (
        f"Fix it in Integrations: http://127.0.0.1:8000/o/{org.slug}/settings/integrations/"
        f"#service-{service.pk}" in body
    )
    assert "Turn it off: http://127.0.0.1:8000/notifications/" in body
    [row] = PagingProblem.objects.all()
    assert row.is_open and row.notified_at and row.reminders_sent == 0


def test_a_reminder_when_due_then_the_all_clear_when_fixed(org, settings):
    settings.PROBLEM_REMINDER_HOURS = 24
    service = _service(org)
    _alert(org, "Checkout errors", service)
    _refuse(service)
    reconcile(org)
    row = PagingProblem.objects.get()

    # 23 hours on: not yet. 24 hours on: one reminder, and not two.
    PagingProblem.objects.filter(pk=row.pk).update(
        last_notified_at=timezone.now() - timedelta(hours=23)
    )
    assert reconcile(org).emails_sent == 0
    PagingProblem.objects.filter(pk=row.pk).update(
        last_notified_at=timezone.now() - timedelta(hours=24, seconds=1)
    )
    assert reconcile(org).emails_sent == 1
    assert reconcile(org).emails_sent == 0
    reminder = mail.outbox[-1]
    assert reminder.subject == "[Tripwire] Still broken in Acme Ops: PagerDuty refuses Checkout API"
    assert "Still broken in Acme Ops:" in reminder.body and "Broken since" in reminder.body
    row.refresh_from_db()
    assert row.reminders_sent == 1

    # A delivery gets through: the service heals, the problem closes, one all-clear.
    paths.heal([service.pk])
    outcome = reconcile(org)
    assert outcome.closed == [row.key] and outcome.emails_sent == 1
    assert reconcile(org).emails_sent == 0
    fixed = mail.outbox[-1]
    assert fixed.subject == "[Tripwire] Fixed in Acme Ops: PagerDuty refuses Checkout API"
    assert "A delivery to it succeeded: it pages again." in fixed.body
    assert "Nothing else is broken in Acme Ops's paging." in fixed.body
    assert len(mail.outbox) == 3
    row.refresh_from_db()
    assert not row.is_open and row.all_clear_sent_at is not None


def test_an_enabled_alert_with_no_service_and_how_it_is_fixed(org):
    alert = _alert(org, "Edge heartbeat missing")
    reconcile(org)
    [email] = mail.outbox
    assert email.subject == (
        "[Tripwire] Paging broken in Acme Ops: Edge heartbeat missing pages nobody"
    )
    assert f"Add a service: http://127.0.0.1:8000/o/{org.slug}/alerts/{alert.pk}/edit/" in (
        email.body
    )
    alert.targets.add(_service(org))
    reconcile(org)
    assert mail.outbox[-1].subject == (
        "[Tripwire] Fixed in Acme Ops: Edge heartbeat missing pages nobody"
    )
    assert "It has a PagerDuty service now." in mail.outbox[-1].body

    # Disabling or deleting says so.
    second = _alert(org, "Disk full")
    third = _alert(org, "Queue stuck")
    reconcile(org)
    second.enabled = False
    second.save()
    third.delete()
    reconcile(org)
    body = mail.outbox[-1].body
    assert mail.outbox[-1].subject == "[Tripwire] Acme Ops: 2 fixed"
    assert "The alert was disabled: it pages nobody on purpose." in body
    assert "The alert was deleted." in body


def test_problems_found_together_are_one_email(org):
    for name in ("One", "Two", "Three"):
        _alert(org, name)
    reconcile(org)
    [email] = mail.outbox
    assert email.subject == "[Tripwire] Acme Ops: 3 new paging problems"
    assert all(f"{name} pages nobody" in email.body for name in ("One", "Two", "Three"))
    assert PagingProblem.objects.filter(notified_at__isnull=False).count() == 3


def test_an_email_spells_out_twenty_problems_and_links_to_the_rest(org):
    service = _service(org)
    _alert(org, "Uses the refused service", service)
    for n in range(24):
        _alert(org, f"Alert {n:02d}")
    _refuse(service)
    reconcile(org)
    [email] = mail.outbox
    assert email.subject == "[Tripwire] Acme Ops: 25 new paging problems"
    assert email.body.index("PagerDuty refuses Checkout API") < email.body.index("Alert 00")
    assert "Alert 18 pages nobody" in email.body and "Alert 19 pages nobody" not in email.body
    assert f"And 5 more: http://127.0.0.1:8000/o/{org.slug}/problems/" in email.body


def test_a_failing_service_that_pagerduty_then_refuses_is_one_problem_after_the_other(org):
    service = _service(org)
    _alert(org, "Checkout errors", service)
    paths.record([paths.Outcome(service.pk, refused=False, detail="Gave up after 9 attempts")])
    reconcile(org)
    assert mail.outbox[-1].subject.endswith("Deliveries to Checkout API are failing")
    assert "Alerts whose pages to it may fail: Checkout errors." in mail.outbox[-1].body
    _refuse(service)
    reconcile(org)
    # The refusal is news; the failing problem gives way to it without an all-clear.
    assert len(mail.outbox) == 2
    assert mail.outbox[-1].subject.endswith("PagerDuty refuses Checkout API")
    failing = PagingProblem.objects.get(kind="failing")
    assert not failing.is_open and not failing.all_clear_due


def test_an_account_to_reconnect(org):
    account = _pd_account(org, org.memberships.get().user)
    _alert(org, "Checkout errors", _service(org, account=account))
    PagerDutyAccount.objects.filter(pk=account.pk).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT, status_detail="PagerDuty refused (x)."
    )
    reconcile(org)
    email = mail.outbox[-1]
    assert email.subject == (
        "[Tripwire] Reconnect PagerDuty in Acme Ops: acknowledging and on-call from Tripwire "
        "stopped; pages still go out"
    )
    assert f"PagerDuty account {account.name} needs reconnecting" in email.body
    assert "PagerDuty refused (x)." not in email.body  # its words are on Integrations
    assert "Alerts on its services, which still page: Checkout errors." in email.body
    assert f"/o/{org.slug}/settings/integrations/#account-{account.pk}" in email.body
    PagerDutyAccount.objects.filter(pk=account.pk).update(status=PagerDutyAccount.Status.ACTIVE)
    reconcile(org)
    assert "The PagerDuty account was reconnected." in mail.outbox[-1].body


def test_a_problem_fixed_before_anyone_was_told_sends_nothing(org, monkeypatch):
    alert = _alert(org, "Edge heartbeat missing")
    monkeypatch.setattr("alerts_saas.notices.reconcile._notify", lambda *a: (None, 0, None))
    reconcile(org)  # opened, but the email was never claimed (the mail server was down)
    monkeypatch.undo()
    alert.delete()
    reconcile(org)
    assert mail.outbox == []
    assert not PagingProblem.objects.get().all_clear_due


def test_a_mail_server_failure_leaves_the_email_to_the_next_run(org, monkeypatch):
    _alert(org, "Edge heartbeat missing")

    def refuse(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    with pytest.raises(OSError):
        reconcile(org)
    row = PagingProblem.objects.get()
    assert row.is_open and row.notified_at is None  # open (the banner shows it), not told
    monkeypatch.undo()
    assert reconcile(org).emails_sent == 1


# -- Who gets them ---------------------------------------------------------------------------


def test_owners_and_admins_who_want_them_and_no_one_else(org, add_member):
    admin = add_member(org, "admin@acme.example", Role.ADMIN)
    quiet = add_member(org, "quiet@acme.example", Role.ADMIN)
    add_member(org, "member@acme.example", Role.MEMBER)
    Membership.objects.filter(pk=quiet.pk).update(email_paging_problems=False)
    _alert(org, "Edge heartbeat missing")
    assert reconcile(org).emails_sent == 2
    assert sorted(m.to[0] for m in mail.outbox) == [admin.user.email, OWNER]


def test_one_organizations_problems_are_never_mailed_or_shown_to_another(
    org, make_org, make_user, add_member, client
):
    other = make_org("Globex", owner=make_user("boss@globex.example"))
    add_member(other, OWNER, Role.ADMIN)  # the owner of Acme is an admin of Globex too
    _alert(org, "Acme heartbeat")
    _alert(other, "Globex heartbeat")
    reconcile(org)
    reconcile(other)
    acme = [m for m in mail.outbox if "Acme heartbeat" in m.body]
    globex = [m for m in mail.outbox if "Globex heartbeat" in m.body]
    assert sorted(m.to[0] for m in acme) == [OWNER]
    assert sorted(m.to[0] for m in globex) == ["boss@globex.example", OWNER]
    assert not any("Globex" in m.body for m in acme)
    assert not any("Acme heartbeat" in m.body for m in globex)

    client.force_login(make_user("boss2@globex.example"))
    add_member(other, "boss2@globex.example", Role.MEMBER)
    page = client.get(f"/o/{other.slug}/alerts/").content.decode()
    assert "Globex heartbeat pages nobody" in page and "Acme heartbeat" not in page
    assert client.get(f"/o/{org.slug}/problems/").status_code == 404


# -- Two runs at once ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_one_email(org):
    for name in ("One", "Two"):
        _alert(org, name)
    start = threading.Barrier(2)
    results: list[object] = []

    def run() -> None:
        try:
            start.wait()
            results.append(reconcile(org).emails_sent)
        except Exception as exc:  # surfaced by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1], results
    assert len(mail.outbox) == 1
    assert PagingProblem.objects.count() == 2  # one open row per problem


# -- What queues a check -----------------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The organizations a check was queued for (instead of queuing it)."""
    calls: list[int] = []
    monkeypatch.setattr(
        tasks.reconcile_organization, "apply_async", lambda args, **kw: calls.append(args[0])
    )
    return calls


def test_changes_that_can_break_paging_queue_a_check_once_committed(
    org, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        service = _service(org)
        _alert(org, "Edge", service)
        _alert(org, "Core", service)
        assert queued == []  # nothing before the commit
    assert queued == [org.pk]  # and once for the lot: a check queued and not started yet

    tasks.reconcile_organization(org.pk)  # the check starts: later changes queue another
    with django_capture_on_commit_callbacks(execute=True):
        paths.record([paths.Outcome(service.pk, refused=True, detail="Invalid routing key")])
    assert queued == [org.pk, org.pk]


def test_the_engine_announces_only_services_it_newly_marks(
    org, queued, django_capture_on_commit_callbacks
):
    service = _service(org)
    with django_capture_on_commit_callbacks(execute=True):
        paths.record([paths.Outcome(service.pk, refused=False, detail="Gave up")])
    assert queued == [org.pk]
    tasks.reconcile_organization(org.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        paths.record([paths.Outcome(service.pk, refused=False, detail="Gave up again")])
    assert callbacks == []
    assert queued == [org.pk]  # already marked: nothing to announce


def test_beat_checks_the_organizations_that_need_it(org, make_org, make_user):
    quiet = make_org("Quiet Co", owner=make_user("boss@quiet.example"))
    _alert(quiet, "Fine", _service(quiet))
    _alert(org, "Edge heartbeat missing")
    assert tasks.organizations_to_check() == {org.pk}
    assert tasks.check_paging_problems() == 1
    assert len(mail.outbox) == 1
    # Reminders come from beat alone.
    PagingProblem.objects.update(last_notified_at=timezone.now() - timedelta(days=2))
    tasks.check_paging_problems()
    assert len(mail.outbox) == 2 and mail.outbox[-1].subject.startswith("[Tripwire] Still broken")


def test_beat_forgets_problems_fixed_long_ago(org, settings):
    settings.DELIVERY_RETENTION_DAYS = 90
    alert = _alert(org, "Edge heartbeat missing")
    reconcile(org)
    alert.delete()
    reconcile(org)
    PagingProblem.objects.update(resolved_at=timezone.now() - timedelta(days=91))
    tasks.check_paging_problems()
    assert not PagingProblem.objects.exists()


# -- The banner and the pages --------------------------------------------------------------


def test_the_banner_shows_the_worst_problem_on_every_tenant_page_until_it_is_gone(
    org, admin_client
):
    service = _service(org)
    _alert(org, "Checkout errors", service)
    _alert(org, "Edge heartbeat missing")
    _refuse(service)
    reconcile(org)
    for url in (f"/o/{org.slug}/alerts/", f"/o/{org.slug}/settings/members/"):
        page = admin_client.get(url).content.decode()
        assert '<aside class="paging-banner" role="alert">' in page
        assert "PagerDuty refuses Checkout API" in page  # the worst first
        assert f'href="/o/{org.slug}/settings/integrations/#service-{service.pk}"' in page
        assert f'<a href="/o/{org.slug}/problems/" class="paging-banner-more">+ 1 more</a>' in (
            page
        )
    problems_page = admin_client.get(f"/o/{org.slug}/problems/").content.decode()
    assert "Alerts that now page nobody: Checkout errors." in problems_page
    assert "Edge heartbeat missing pages nobody" in problems_page

    paths.heal([service.pk])
    Alert.objects.filter(name="Edge heartbeat missing").delete()
    page = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    assert "paging-banner" in page  # still open until reconciled
    reconcile(org)
    page = admin_client.get(f"/o/{org.slug}/alerts/").content.decode()
    assert "paging-banner" not in page
    fixed = admin_client.get(f"/o/{org.slug}/problems/").content.decode()
    assert "Fixed lately" in fixed
    # When, in the member's zone, and how long ago, as every other time on the pages.
    assert re.search(
        r"PagerDuty refuses Checkout API</strong>: fixed <time[^>]*>[^<]+</time> "
        r"\(<time[^>]*>just now</time>\)",
        fixed,
    )


def test_the_banner_is_read_only_by_a_page_that_shows_it(
    org, admin_client, django_assert_num_queries
):
    _alert(org, "Edge heartbeat missing")
    reconcile(org)
    response = admin_client.get(f"/o/{org.slug}/problems/")
    assert "paging-banner" in response.content.decode()
    from alerts_saas.notices.banner import paging_banner

    request = response.wsgi_request
    with django_assert_num_queries(0):
        context = paging_banner(request)
    with django_assert_num_queries(1):
        assert context["paging_banner"].title == "Edge heartbeat missing pages nobody"


def test_each_member_turns_the_emails_off_and_on_per_organization(
    org, make_org, make_user, add_member
):
    owner = org.memberships.get().user
    other = make_org("Globex", owner=make_user("boss@globex.example"))
    theirs = add_member(other, owner.email, Role.ADMIN)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    page = client.get("/notifications/").content.decode()
    assert "Email me when paging breaks" in page
    assert page.count('name="organizations"') == 2 and page.count(" checked>") == 2
    assert client.post("/notifications/", {"organizations": [theirs.pk]}).status_code == 403
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/notifications/", {"organizations": [theirs.pk], "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert list(
        Membership.objects.filter(user=owner)
        .order_by("organization__name")
        .values_list("organization__name", "email_paging_problems")
    ) == [("Acme Ops", False), ("Globex", True)]
    _alert(org, "Acme heartbeat")
    _alert(other, "Globex heartbeat")
    reconcile(org)
    reconcile(other)
    assert [m.to[0] for m in _to(owner.email)] == [owner.email]
    assert "Globex heartbeat" in _to(owner.email)[0].body

    # Someone else's membership can't be switched from here.
    stranger = add_member(org, "stranger@acme.example", Role.ADMIN)
    client.post(
        "/notifications/", {"organizations": [str(stranger.pk)], "csrfmiddlewaretoken": token}
    )
    stranger.refresh_from_db()
    assert stranger.email_paging_problems
    assert "Notifications" in client.get(f"/o/{org.slug}/alerts/").content.decode()
