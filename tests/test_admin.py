"""The admin site lists every model, and never shows a secret."""

from __future__ import annotations

import re
import time

import pytest
from django.apps import apps
from django.contrib import admin

from tests.tenant_objects import _pd_service, populate

pytestmark = pytest.mark.django_db


def test_every_project_model_is_registered() -> None:
    ours = [
        m for m in apps.get_models() if m.__module__.startswith(("alerts_saas", "integrations"))
    ]
    inlined = {
        inline.model
        for model_admin in admin.site._registry.values()
        for inline in model_admin.inlines
    }
    missing = [m._meta.label for m in ours if m not in admin.site._registry and m not in inlined]
    assert missing == []


def test_admin_pages_load_without_secrets(client, make_org, make_user) -> None:
    staff = make_user("staff@tripwire.example")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    org = make_org("Acme")
    objects = populate(org, org.memberships.get().user)
    client.force_login(staff)
    for name in ("pagerdutyaccount", "pagerdutyservice", "delivery"):
        obj = objects[name]
        for url in (f"/admin/pagerduty/{name}/", f"/admin/pagerduty/{name}/{obj.pk}/change/"):
            page = client.get(url)
            assert page.status_code == 200, url
            body = page.content.decode()
            assert "0" * 32 not in body  # the integration key of the fixtures
            assert 'name="access_token"' not in body and 'name="routing_key"' not in body


def test_staff_cannot_give_an_alert_another_organizations_service_or_a_bad_regex(make_org) -> None:
    from alerts_saas.alerts.admin import AlertAdminForm
    from alerts_saas.alerts.models import Alert

    ours, theirs = make_org("Acme"), make_org("Globex")
    their_service = _pd_service(theirs, theirs.memberships.get().user)
    alert = Alert.objects.create(organization=ours, name="Errors", threshold=1)
    form = AlertAdminForm(
        instance=alert,
        data={
            "organization": ours.pk,
            "name": "Errors",
            "kind": alert.kind,
            "threshold": 1,
            "window_minutes": 10,
            "severity": alert.severity,
            "summary_template": alert.summary_template,
            "targets": [their_service.pk],
            "match_message": "(unclosed",
            "match_message_regex": True,
            "enabled": True,
            "generation": alert.generation,
            "counting_since": alert.counting_since,
        },
    )
    assert not form.is_valid()
    assert "Choose services of the alert's own organization." in form.errors["targets"]
    assert form.errors["match_message"]


@pytest.fixture
def staff_client(client, make_user):
    staff = make_user("staff@tripwire.example")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    return client


def test_a_staff_edit_of_what_counts_restarts_counting_and_resolves_the_firing(
    staff_client, make_org
) -> None:
    """The admin saves alerts the product's way: the rule lives in `Alert.save`."""
    from alerts_saas.alerts import evaluation
    from alerts_saas.alerts.conditions import Event
    from alerts_saas.alerts.models import Alert, Firing
    from integrations.pagerduty.models import Delivery, EventAction

    org = make_org("Acme")
    service = _pd_service(org, org.memberships.get().user)
    alert = Alert.objects.create(organization=org, name="Errors", threshold=1, match_app="checkout")
    alert.targets.add(service)
    [firing] = evaluation.record(org.pk, [Event(timestamp=time.time(), app="checkout")])
    form = {
        name: getattr(alert, name)
        for name in (
            "name",
            "description",
            "severity",
            "summary_template",
            "source",
            "component",
            "group",
            "event_class",
            "kind",
            "match_source",
            "match_message",
            "match_attribute",
            "match_attribute_value",
            "threshold",
            "window_minutes",
        )
    }
    form.update(
        {
            "organization": org.pk,
            "match_app": "payments",
            "match_level": "",
            "enabled": "on",
            "targets": [service.pk],
            "created_by": org.memberships.get().user.pk,
            "details-TOTAL_FORMS": "0",
            "details-INITIAL_FORMS": "0",
            "details-MIN_NUM_FORMS": "0",
            "details-MAX_NUM_FORMS": "1000",
        }
    )
    response = staff_client.post(f"/admin/alerts/alert/{alert.pk}/change/", form)
    assert response.status_code == 302, re.findall(
        r"errorlist.*?</ul>", response.content.decode(), re.S
    )
    alert.refresh_from_db()
    assert alert.match_app == "payments" and alert.generation == 2
    firing.refresh_from_db()
    assert firing.clear_reason == Firing.ClearReason.EDITED
    [resolve] = Delivery.objects.filter(event_action=EventAction.RESOLVE)
    assert resolve.dedup_key == firing.dedup_key(service.pk)

    # Deleting from the admin resolves first, as the product's delete does.
    [firing] = evaluation.record(org.pk, [Event(timestamp=time.time(), app="payments")])
    response = staff_client.post(f"/admin/alerts/alert/{alert.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Alert.objects.filter(pk=alert.pk).exists()
    assert Delivery.objects.filter(
        event_action=EventAction.RESOLVE, dedup_key=firing.dedup_key(service.pk)
    ).exists()


def test_saving_restarts_counting_only_when_what_counts_changes(make_org) -> None:
    from alerts_saas.alerts.models import Alert

    alert = Alert.objects.create(organization=make_org("Acme"), name="Errors")
    alert = Alert.objects.get(pk=alert.pk)
    alert.threshold = 9
    alert.save()
    assert not alert.counting_restarted and alert.generation == 1
    alert.match_level = 40
    alert.save()
    assert alert.counting_restarted and alert.generation == 2
    alert.enabled = False
    alert.save(update_fields=["enabled"])
    assert not alert.counting_restarted
    alert.enabled = True
    alert.save(update_fields=["enabled"])  # nothing was counted while it was disabled
    assert alert.counting_restarted
    assert Alert.objects.get(pk=alert.pk).generation == 3
