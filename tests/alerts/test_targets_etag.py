"""The polled targets fragment of an alert that groups (one firing per host): its ETag
changes with every change the fragment shows (a delivery's state, a new delivery, a value
opening or clearing on this page or another, a value's own state, PagerDuty's incident and
its timeline, who is on call, a service connected, the alert's name) and with nothing it
does not show (a delivery of a value on another page). Computing it reads only the page of
values shown: the poll that answers 304 costs the same queries, of the same size, at 25
values (200 deliveries) and at 300 (2,400 deliveries)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing
from integrations.pagerduty.incidents.models import Incident, IncidentActivity, OnCallNow
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from tests.dashboard.conftest import account, alert, service

pytestmark = pytest.mark.django_db
SHOWN = 20  # values on a page of the fragment


def hosts(org: Organization, values: int, per_value: int = 2) -> Alert:
    """An alert counting each host on its own with `values` hosts firing (the first to fire
    first), each with a delivered trigger to a connected service and `per_value - 1` more
    deliveries to a pasted-key one; who the connected service pages now is known."""
    connected = service(org, "Checkout API", account=account(org))
    pasted = service(org, "Search")
    made = alert(org, "Errors per host", connected, pasted, group_by="source")
    now = timezone.now()
    firings = Firing.objects.bulk_create(
        Firing(
            organization=org,
            alert=made,
            group=f"web-{n:03d}",
            opened_at=now - timedelta(minutes=values - n),
            count_at_open=1,
        )
        for n in range(values)
    )
    Delivery.objects.bulk_create(
        Delivery(
            organization=org,
            service=connected if k == 0 else pasted,
            service_name=(connected if k == 0 else pasted).name,
            alert=made,
            firing=firing,
            region="us",
            routing_key="0" * 32,
            event_action=EventAction.TRIGGER,
            dedup_key=f"{firing.group}-{k}",
            body={"event_action": "trigger"},
            status=Delivery.Status.DELIVERED if k == 0 else Delivery.Status.QUEUED,
            delivered_at=now if k == 0 else None,
        )
        for firing in firings
        for k in range(per_value)
    )
    OnCallNow.objects.create(organization=org, service=connected, names=["Ada"], checked_at=now)
    return made


def _url(org: Organization, made: Alert, page: int = 1) -> str:
    return f"/o/{org.slug}/alerts/{made.pk}/live/targets/?values_page={page}"


def _open(made: Alert) -> list[Firing]:
    return list(made.firings.filter(cleared_at__isnull=True).order_by("opened_at", "pk"))


def _trigger(made: Alert, n: int, k: int = 0) -> Delivery:
    return Delivery.objects.get(firing=_open(made)[n], dedup_key__endswith=f"-{k}")


def _incident(org: Organization, made: Alert) -> Incident:
    trigger = _trigger(made, 0)
    return Incident.objects.create(
        organization=org,
        service_id=trigger.service_id,
        dedup_key=trigger.dedup_key,
        pd_incident_id="PINC1",
        number=7,
        status="triggered",
        status_changed_at=timezone.now(),
    )


def _delivered(org: Organization, made: Alert) -> None:
    Delivery.objects.filter(pk=_trigger(made, 3, 1).pk).update(
        status=Delivery.Status.DELIVERED, delivered_at=timezone.now()
    )


def _retrying(org: Organization, made: Alert) -> None:
    Delivery.objects.filter(pk=_trigger(made, 3, 1).pk).update(
        attempts=2, last_error="PagerDuty answered 503", next_attempt_at=timezone.now()
    )


def _failed(org: Organization, made: Alert) -> None:
    Delivery.objects.filter(pk=_trigger(made, 3, 1).pk).update(
        status=Delivery.Status.FAILED, last_error="Invalid routing key"
    )


def _resolve_sent(org: Organization, made: Alert) -> None:
    trigger = _trigger(made, 2)
    trigger.pk, trigger.event_action = None, EventAction.RESOLVE
    trigger.save()


def _opened_later(org: Organization, made: Alert) -> None:
    Firing.objects.create(organization=org, alert=made, group="web-new", count_at_open=1)


def _cleared_here(org: Organization, made: Alert) -> None:
    Firing.objects.filter(pk=_open(made)[4].pk).update(cleared_at=timezone.now())


def _cleared_later(org: Organization, made: Alert) -> None:
    Firing.objects.filter(pk=_open(made)[-1].pk).update(cleared_at=timezone.now())


def _condition_cleared(org: Organization, made: Alert) -> None:
    Firing.objects.filter(pk=_open(made)[5].pk).update(condition_cleared_at=timezone.now())


def _held(org: Organization, made: Alert) -> None:
    Firing.objects.filter(pk=_open(made)[6].pk).update(held=True)


def _incident_opened(org: Organization, made: Alert) -> None:
    _incident(org, made)


def _incident_acknowledged(org: Organization, made: Alert) -> None:
    incident = Incident.objects.get(organization=org, pd_incident_id="PINC1")
    incident.status, incident.acknowledged_by = "acknowledged", "Ada Lovelace"
    incident.save()


def _incident_noted(org: Organization, made: Alert) -> None:
    incident = Incident.objects.get(organization=org, pd_incident_id="PINC1")
    for kind, text in (("incident.triggered", ""), ("incident.annotated", "Rolling back")):
        IncidentActivity.objects.create(
            organization=org,
            incident=incident,
            kind=kind,
            pd_incident_id="PINC1",
            occurred_at=timezone.now(),
            text=text,
            applied_at=timezone.now(),
        )


def _on_call_changed(org: Organization, made: Alert) -> None:
    OnCallNow.objects.filter(organization=org).update(names=["Grace"])


def _connected(org: Organization, made: Alert) -> None:
    PagerDutyService.objects.filter(organization=org, name="Search").update(
        account=account(org, "Search account")
    )


def _renamed(org: Organization, made: Alert) -> None:
    made.name = "Errors on each web host"
    made.save()


Change = Callable[[Organization, Alert], None]
CHANGES: list[tuple[Change, ...]] = [
    (_delivered,),
    (_retrying,),
    (_failed,),
    (_resolve_sent,),
    (_opened_later,),
    (_cleared_here,),
    (_cleared_later,),
    (_condition_cleared,),
    (_held,),
    (_incident_opened,),
    (_incident_opened, _incident_acknowledged),
    (_incident_opened, _incident_noted),
    (_on_call_changed,),
    (_connected,),
    (_renamed,),
]


@pytest.mark.parametrize("changes", CHANGES, ids=[c[-1].__name__.strip("_") for c in CHANGES])
def test_every_change_the_fragment_shows_changes_its_etag(
    admin_client: Client, org: Organization, changes: tuple[Change, ...]
) -> None:
    made = hosts(org, 25)
    for earlier in changes[:-1]:
        earlier(org, made)
    url = _url(org, made)
    before = admin_client.get(url)
    assert before.status_code == 200
    assert admin_client.get(url, HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304
    changes[-1](org, made)
    after = admin_client.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200, "the change is shown, so the page must get it"
    assert after["ETag"] != before["ETag"]
    assert after.content != before.content  # the change does alter what the fragment shows
    assert admin_client.get(url, HTTP_IF_NONE_MATCH=after["ETag"]).status_code == 304


def test_a_change_on_another_page_of_values_keeps_this_page_current(
    admin_client: Client, org: Organization
) -> None:
    made = hosts(org, 25)
    url = _url(org, made)
    before = admin_client.get(url)
    later = _open(made)[SHOWN + 2]  # on the second page
    Delivery.objects.filter(firing=later).update(
        status=Delivery.Status.DELIVERED, delivered_at=timezone.now()
    )
    assert admin_client.get(url, HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304
    # The second page shows it; a page past the end is the last page, as the fragment says.
    second = admin_client.get(_url(org, made, 2))
    assert second.status_code == 200 and later.group.encode() in second.content
    past = admin_client.get(_url(org, made, 99), HTTP_IF_NONE_MATCH=second["ETag"])
    assert past.status_code == 200 and past.content.count(b'class="firing-value"') == 5


def _poll(client: Client, url: str, etag: str) -> list[tuple[str, int]]:
    """The statements a poll that answers 304 runs: each one's SQL and its parameters'
    count (the SQL holds a placeholder per parameter: a list of ids grows it)."""
    ran: list[tuple[str, int]] = []

    def note(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        ran.append((sql, len(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    return ran


def test_the_poll_costs_the_same_whatever_the_values_and_their_deliveries(
    admin_client: Client, org: Organization, make_org, make_user
) -> None:
    few = hosts(org, 25, per_value=8)  # 200 deliveries
    url = _url(org, few)
    admin_client.get(url)  # the first page of an organization remembers it in the session
    etag = admin_client.get(url)["ETag"]
    small = _poll(admin_client, url, etag)

    other = make_org("Globex", owner=make_user("ops@globex.example"))
    many = hosts(other, 300, per_value=8)  # 2,400 deliveries
    client = Client()
    client.force_login(other.memberships.get().user)
    url = _url(other, many)
    client.get(url)
    etag = client.get(url)["ETag"]
    large = _poll(client, url, etag)
    assert len(large) == len(small)
    assert large == small, "no query grows with the values firing or their deliveries"
