"""The admin site lists every model, and never shows a secret."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin

from tests.tenant_objects import populate

pytestmark = pytest.mark.django_db


def test_every_project_model_is_registered() -> None:
    ours = [m for m in apps.get_models()
            if m.__module__.startswith(("alerts_saas", "integrations"))]
    inlined = {inline.model for model_admin in admin.site._registry.values()
               for inline in model_admin.inlines}
    missing = [m._meta.label for m in ours
               if m not in admin.site._registry and m not in inlined]
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


def test_staff_cannot_give_an_alert_another_organizations_service_or_a_bad_regex(
        make_org) -> None:
    from alerts_saas.alerts.admin import AlertAdminForm
    from alerts_saas.alerts.models import Alert

    ours, theirs = make_org("Acme"), make_org("Globex")
    their_service = populate(theirs, theirs.memberships.get().user)["pagerdutyservice"]
    alert = Alert.objects.create(organization=ours, name="Errors", threshold=1)
    form = AlertAdminForm(instance=alert, data={
        "organization": ours.pk, "name": "Errors", "kind": alert.kind,
        "threshold": 1, "window_minutes": 10, "severity": alert.severity,
        "summary_template": alert.summary_template, "targets": [their_service.pk],
        "match_message": "(unclosed", "match_message_regex": True, "enabled": True,
        "generation": alert.generation, "counting_since": alert.counting_since})
    assert not form.is_valid()
    assert "Choose services of the alert's own organization." in form.errors["targets"]
    assert form.errors["match_message"]
    assert list(Alert.objects.get(pk=alert.pk).targets.all()) == []
