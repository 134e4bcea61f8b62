"""Templates follow the imports' direction (DESIGN.md; tests/test_layout.py for the
modules): the PagerDuty integration's templates load no tag library from the alerts app,
which sits on top of it. The delivery page's back link (its own tag in the integration)
reads the alert with the delivery, not in a query of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection
from django.template.backends.django import get_installed_libraries
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import Delivery
from tests.history_rows import delivery
from tests.tenant_objects import _pd_service

TEMPLATES = Path(__file__).resolve().parent.parent / "integrations" / "pagerduty" / "templates"
LOAD = re.compile(r"{%\s*load\s+([^%]+?)\s*%}")
# The one exception, as for the modules (test_layout: the integration's views may show the
# alerts app's forms): Integrations' services table shows each service's mute windows.
SHOWN_FROM_ALERTS = {"mute_tags"}


def test_the_integrations_templates_load_nothing_from_the_alerts_app() -> None:
    libraries = get_installed_libraries()  # a {% load %} name → its module
    offenders = [
        f"{template.relative_to(TEMPLATES)} loads {name} ({libraries[name]})"
        for template in sorted(TEMPLATES.rglob("*.html"))
        for load in LOAD.findall(template.read_text())
        for name in load.split()
        if libraries.get(name, "").startswith("alerts_saas.alerts")
        and name not in SHOWN_FROM_ALERTS
    ]
    assert not offenders, "\n".join(offenders)


@pytest.mark.django_db
def test_the_back_link_to_the_alert_costs_no_query_of_its_own(
    org: Organization, admin_client: Client
) -> None:
    service = _pd_service(org, org.memberships.get().user)
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    sent = delivery(service, alert=alert, status=Delivery.Status.FAILED, last_error="boom")
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(f"/o/{org.slug}/pagerduty/deliveries/{sent.pk}/")
    assert f'href="/o/{org.slug}/alerts/{alert.pk}/" id="delivery-back">← Checkout errors' in (
        page.content.decode()
    )
    alone = [
        q["sql"] for q in queries if re.match(r'SELECT .* FROM "alerts_alert" WHERE', q["sql"])
    ]
    assert not alone, alone
