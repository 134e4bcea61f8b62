"""Deleting an organization: owners only, typed name, refused while paging is under way,
everything of it gone and nothing of another touched."""

from __future__ import annotations

import html
import logging
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.access import CURRENT_ORG_SESSION_KEY
from alerts_saas.accounts.models import Organization, Role
from alerts_saas.alerts import firings
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.audit.models import Entry
from alerts_saas.org_deletion import deletion
from integrations.pagerduty.incidents import subscriptions
from integrations.pagerduty.models import Delivery, PagerDutyService
from integrations.pagerduty.rest import AccountApi
from tests.incidents.test_unsubscriptions import run_queued
from tests.lock_race import race
from tests.tenant_objects import populate

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    page = response.content.decode()
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


def _url(org: Organization) -> str:
    return f"/o/{org.slug}/settings/delete/"


def _owner(org: Organization):
    return org.memberships.get(role=Role.OWNER).user


def _fk_fields() -> list[tuple[type[models.Model], models.ForeignKey]]:
    """Every foreign key (one-to-one too) of every model, through tables included."""
    return [
        (model, f)
        for model in apps.get_models(include_auto_created=True)
        for f in model._meta.concrete_fields
        if isinstance(f, models.ForeignKey)
    ]


def _rows_of(org: Organization) -> dict[type[models.Model], set[object]]:
    """The pks of the rows that refer to `org`, and of the rows that refer to those."""
    owned: dict[type[models.Model], set[object]] = {Organization: {org.pk}}
    for _ in range(3):  # alert -> firing -> ...: follow a few hops of references
        for model, f in _fk_fields():
            targets = owned.get(f.related_model)
            if targets:
                pks = model._default_manager.filter(**{f"{f.attname}__in": targets})
                owned.setdefault(model, set()).update(pks.values_list("pk", flat=True))
    return owned


def _populated(make_org, make_user, add_member, name: str) -> Organization:
    owner = make_user(f"owner@{name.lower()}.example")
    org = make_org(name, owner=owner)
    populate(org, owner)  # a member, an invitation, a connected service, alerts, keys, ...
    add_member(org, f"admin@{name.lower()}.example", Role.ADMIN)
    PagerDutyService.objects.create(
        organization=org, name="Pasted", region="us", integration_key="1" * 32
    )
    Firing.objects.filter(organization=org).update(cleared_at=timezone.now())
    return org


def test_the_owner_deletes_an_empty_organization(make_org, client, caplog) -> None:
    org = make_org("Quiet Co")
    owner = _owner(org)
    client.force_login(owner)
    settings_page = client.get(f"/o/{org.slug}/settings/").content.decode()
    assert f'href="{_url(org)}"' in settings_page

    page = _text(client.get(_url(org)))
    assert "Delete Quiet Co?" in page
    assert "1 member, you included, loses access at once" in page
    assert "remove the Tripwire app there" in page

    with caplog.at_level(logging.INFO, logger="alerts_saas.org_deletion.deletion"):
        response = client.post(_url(org), {"name": "  Quiet Co "}, follow=True)
    assert not Organization.objects.filter(pk=org.pk).exists()
    assert response.redirect_chain[0] == ("/", 302)
    assert "“Quiet Co” was deleted." in _text(response)
    assert CURRENT_ORG_SESSION_KEY not in client.session
    logged = [r.getMessage() for r in caplog.records if "deleted by user" in r.getMessage()]
    assert logged == [f"Organization {org.pk} ('Quiet Co') deleted by user {owner.pk}"]


def test_a_populated_organization_goes_entirely_and_another_is_untouched(
    make_org, make_user, add_member, client
) -> None:
    doomed = _populated(make_org, make_user, add_member, "Doomed")
    other = _populated(make_org, make_user, add_member, "Other")
    Delivery.objects.filter(organization__in=[doomed, other]).update(
        status=Delivery.Status.DELIVERED
    )
    doomed_rows, other_rows = _rows_of(doomed), _rows_of(other)
    assert Entry in doomed_rows and Firing in doomed_rows and Alert in doomed_rows
    owner = _owner(doomed)
    client.force_login(owner)

    page = _text(client.get(_url(doomed)))
    for words in (
        "1 alert, with its history: 1 firing and 1 event sent to PagerDuty",
        "1 ingest key and 1 API token",
        "3 members, you included, lose access at once; 1 pending invitation stops working",
        "1 connected account",
        "2 services, 1 of them by a pasted integration key (the key is deleted)",
    ):
        assert words in page
    assert _rows_of(doomed) == doomed_rows, "the confirmation page changed data"

    response = client.post(_url(doomed), {"name": "Doomed"})
    assert response.status_code == 302
    for model, f in _fk_fields():
        gone = doomed_rows.get(f.related_model)
        if gone:
            left = model._default_manager.filter(**{f"{f.attname}__in": gone})
            assert not left.exists(), f"{model._meta.label}.{f.name} still refers to it"
    for model, pks in doomed_rows.items():
        assert not model._default_manager.filter(pk__in=pks).exists(), model._meta.label
    assert _rows_of(other) == other_rows
    client.force_login(_owner(other))
    assert client.get(f"/o/{other.slug}/").status_code == 200


def test_an_open_firing_stops_the_deletion(make_org, client) -> None:
    org = make_org("Busy Co")
    alert = Alert.objects.create(organization=org, name="Checkout errors")
    # Never fired, and first by name: the page must not call it firing.
    Alert.objects.create(organization=org, name="Always quiet")
    cleared = Alert.objects.create(organization=org, name="Already cleared")
    Firing.objects.create(
        organization=org, alert=cleared, count_at_open=1, cleared_at=timezone.now()
    )
    client.force_login(_owner(org))
    assert "Delete Busy Co?" in _text(client.get(_url(org)))  # nothing open yet

    Firing.objects.create(organization=org, alert=alert, count_at_open=5)  # opened meanwhile
    before = _rows_of(org)
    refused = client.post(_url(org), {"name": "Busy Co"})
    assert refused.status_code == 400
    words = _text(refused)
    assert "Nothing was deleted: 1 firing is still open" in words
    assert "their PagerDuty incidents would stay open, with nobody able to resolve them" in words
    assert f'href="/o/{org.slug}/alerts/{alert.pk}/"' in refused.content.decode()
    assert _rows_of(org) == before

    page = client.get(_url(org))
    assert "You can't delete Busy Co yet" in _text(page)
    assert "1 firing is open, on Checkout errors." in _text(page)
    assert f'href="/o/{org.slug}/alerts/?state=firing"' in page.content.decode()
    assert 'name="name"' not in page.content.decode()


def test_an_event_still_queued_for_pagerduty_stops_the_deletion(make_org, client) -> None:
    org = make_org("Sending Co")
    owner = _owner(org)
    populate(org, owner)
    Firing.objects.filter(organization=org).update(cleared_at=timezone.now())
    Delivery.objects.filter(organization=org).update(status=Delivery.Status.QUEUED, attempts=2)
    client.force_login(owner)
    page = _text(client.get(_url(org)))
    assert "1 event to PagerDuty is still queued or being sent (1 being retried" in page
    assert "Events to PagerDuty are sent when they are due, and retried" in page
    # A test incident's automatic resolve waits its 10 minutes: the page says so.
    soon = timezone.now() + timedelta(minutes=10, seconds=30)
    Delivery.objects.filter(organization=org).update(attempts=0, next_attempt_at=soon)
    assert "sent when they are due (the last in 10 minutes)" in _text(client.get(_url(org)))
    before = _rows_of(org)
    refused = _text(client.post(_url(org), {"name": "Sending Co"}))
    assert "1 event to PagerDuty is still queued or being sent." in refused
    assert _rows_of(org) == before

    Delivery.objects.filter(organization=org).update(status=Delivery.Status.FAILED)
    assert client.post(_url(org), {"name": "Sending Co"}).status_code == 302
    assert not Organization.objects.filter(pk=org.pk).exists()


def test_a_wrong_name_deletes_nothing(make_org, client) -> None:
    org = make_org("Exact Co")
    client.force_login(_owner(org))
    for typed in ("exact co", "Exact", ""):
        response = client.post(_url(org), {"name": typed})
        assert response.status_code == 400
        assert "The name you typed is not “Exact Co”." in _text(response)
        assert 'aria-invalid="true"' in response.content.decode()
    assert Organization.objects.filter(pk=org.pk).exists()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER])
def test_admins_and_members_are_refused_and_told_to_ask_an_owner_by_name(
    make_org, add_member, client, role
) -> None:
    org = make_org("Guarded Co")
    second = add_member(org, "olga@guarded.example", Role.OWNER).user
    second.first_name, second.last_name = "Olga", "Owen"
    second.save()
    add_member(org, "ada@guarded.example", Role.ADMIN)
    someone = add_member(org, f"{role}@guarded.example", role)
    client.force_login(someone.user)
    settings_page = _text(client.get(f"/o/{org.slug}/settings/"))
    assert "Only its owners can delete it." in settings_page
    for method in (client.get, client.post):
        response = method(_url(org), {"name": "Guarded Co"})
        assert response.status_code == 403
        words = _text(response)
        # The 403 page (errors.py) names the owners, and only them, to admins as to
        # members: an admin can't do it either, and the admin role would not let them.
        assert "Only an owner of Guarded Co can do this. " in words
        assert "Ask Olga Owen or owner@guarded-co.example. " in words
        assert "ada@guarded.example" not in words and "admin role" not in words
        assert "Back to Guarded Co" in words
    assert Organization.objects.filter(pk=org.pk).exists()


def test_our_webhook_subscriptions_are_deleted_in_pagerduty(
    org, connected_service, pagerduty, admin_client, settings, django_capture_on_commit_callbacks
) -> None:
    """Against the sandbox: the organization's subscription is deleted there by a worker
    once the deletion commits (with the token read before its account went); another's
    stays."""
    settings.SITE_URL = "http://tripwire.example"
    ours = subscriptions.subscribe(connected_service)
    assert ours is not None and ours.pd_subscription_id
    theirs = AccountApi(connected_service.account).create_webhook_subscription(
        connected_service.pd_service_id,
        "http://elsewhere.example/hook",
        ["incident.triggered"],
        "Someone else's",
    )
    page = _text(admin_client.get(_url(org)))
    assert (
        "In PagerDuty, Tripwire then asks to remove its webhook subscription on the connected "
        "service, so that PagerDuty stops sending its incident updates to Tripwire. It asks "
        "after the deletion, in the background, and asks again for up to a day while "
        "PagerDuty can't be reached; a subscription still there after that keeps sending "
        "updates that Tripwire refuses, until PagerDuty turns it off or you delete it in "
        "PagerDuty (Integrations, Generic Webhooks (v3)). The rest stays in PagerDuty: the "
        "services, their integrations and past incidents. To remove Tripwire's access to "
        "your PagerDuty account, remove the Tripwire app there." in page
    )
    assert (
        "(Tripwire's access tokens for it are deleted, once Tripwire's webhook subscriptions "
        "are removed in PagerDuty or Tripwire gives up trying)" in page
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(_url(org), {"name": org.name})
    assert response.status_code == 302
    assert run_queued() == ["done"]  # a worker's job, not the request's
    deleted = [
        r["path"].rpartition("/webhook_subscriptions/")[2]
        for r in pagerduty.requests_log()
        if r["method"] == "DELETE" and "/webhook_subscriptions/" in r["path"]
    ]
    assert deleted == [ours.pd_subscription_id]
    assert [s["id"] for s in pagerduty.webhook_subscriptions()] == [theirs["id"]]


def test_other_members_next_request_after_the_deletion(make_org, add_member, client) -> None:
    org = make_org("Shared Co")
    member = add_member(org, "mia@shared.example")
    elsewhere = make_org("Elsewhere", owner=member.user)
    client.force_login(member.user)
    client.get(f"/o/{org.slug}/")
    assert client.session[CURRENT_ORG_SESSION_KEY] == org.slug

    owner_client = type(client)()
    owner_client.force_login(_owner(org))
    assert owner_client.post(_url(org), {"name": "Shared Co"}).status_code == 302

    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == f"/o/{elsewhere.slug}/"
    assert client.get(f"/o/{org.slug}/").status_code == 404
    page = client.get(home["Location"])
    assert page.status_code == 200 and "Shared Co" not in _text(page)


def test_the_page_costs_the_same_queries_however_many_alerts(make_org, client) -> None:
    org = make_org("Many Co")
    client.force_login(_owner(org))
    client.get(_url(org))  # the first page of an organization remembers it in the session

    def queries_with(alerts: int) -> int:
        for n in range(Alert.objects.filter(organization=org).count(), alerts):
            alert = Alert.objects.create(organization=org, name=f"Alert {n}")
            Firing.objects.create(
                organization=org, alert=alert, count_at_open=1, cleared_at=timezone.now()
            )
        with CaptureQueriesContext(connection) as captured:
            assert client.get(_url(org)).status_code == 200
        return len(captured)

    assert queries_with(1) == queries_with(12)


@pytest.mark.django_db(transaction=True)
def test_a_firing_opening_during_the_deletion_stops_it(make_org, monkeypatch) -> None:
    """The deletion takes the alerts' rows before the organization's: a firing being opened
    (its alert's row held, the organization's taken at its commit) is waited for, then seen,
    and stops the deletion; neither side deadlocks. Real PostgreSQL, one connection each."""
    org = make_org("Racing Co")
    alert = Alert.objects.create(organization=org, name="Checkout errors")
    outcome = race(
        monkeypatch,
        firings,
        "targets_of",
        lambda: firings.open_firing(alert, 5, timezone.now()),
        lambda: deletion.delete_organization(org, _owner(org), "Racing Co"),
    )
    assert outcome.blocked, "the deletion did not wait for the firing being opened"
    assert len(outcome.errors) == 1 and "1 firing is still open" in outcome.errors[0]
    assert outcome.errors[0].startswith("second: DeletionRefused")
    assert Firing.objects.filter(organization=org, cleared_at__isnull=True).count() == 1
