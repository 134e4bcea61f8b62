"""A host that stopped reporting, of an alert that resolves quiet values by itself, is
forgotten after the forget windows: its firing clears as "No longer seen" and its incident
is resolved. The resolve said why in a code that was none of the deliveries' reasons
(`forgotten`), so the alert page showed it raw ("Resolve queued (forgotten)"); it reads
"value no longer seen" now, as the firing's own reason does."""

from __future__ import annotations

import pytest

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.ingest.models import ApiToken, Scope
from integrations.pagerduty.models import Delivery, EventAction, Reason
from tests.alerts.test_stop_watching import _per_host, _quiet
from tests.api_client import Api

pytestmark = pytest.mark.django_db


def test_a_forgotten_hosts_resolve_says_why_on_the_alert_page_and_in_the_api(
    org, make_service, admin_client, settings
):
    settings.ALERT_GROUP_FORGET_WINDOWS = 3
    alert = _per_host(org, make_service("Edge Gateway"))
    Alert.objects.filter(pk=alert.pk).update(resolve_quiet_values=True)
    start = _quiet(org, alert, "web-1")  # quiet since 100 s ago: paged
    assert evaluation.evaluate(now=start + 300)["cleared"] == 1  # 3 windows on: forgotten
    firing = Firing.objects.get(alert=alert)
    assert firing.clear_reason == Firing.ClearReason.FORGOTTEN

    page = admin_client.get(alert.get_absolute_url()).content.decode()
    row = page[page.index(f'id="firing-{firing.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "No longer seen" in row
    opened = admin_client.get(f"{alert.get_absolute_url()}?sent={firing.pk}").content.decode()
    row = opened[opened.index(f'id="firing-{firing.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Resolve queued (value no longer seen)" in row
    assert "(forgotten)" not in page
    resolve = Delivery.objects.get(firing=firing, event_action=EventAction.RESOLVE)
    assert resolve.get_reason_display() == "value no longer seen"

    # The API gives the codes: the resolve's reason is the firing's clear reason.
    _token, secret = ApiToken.issue(org, "tool", scope=Scope.READ)
    api = Api(secret)
    [cleared] = api.get("/firings", query={"alert_id": alert.pk}).json()["items"]
    assert cleared["clear_reason"] == "forgotten"
    sent = api.get("/deliveries", query={"firing_id": firing.pk}).json()["items"]
    assert [(d["event_action"], d["reason"]) for d in sent] == [
        ("resolve", "forgotten"),
        ("trigger", ""),
    ]


def test_every_clear_reason_that_sends_resolves_is_a_delivery_reason():
    """A firing cleared for any reason but by hand (`BY_HAND`) or in PagerDuty (nothing
    sent) resolves its incidents with its own clear reason's code (`firings.clear_firings`):
    each must be a delivery reason, or the page shows the code."""
    sends_own = set(Firing.ClearReason) - {
        Firing.ClearReason.RESOLVED,
        Firing.ClearReason.INCIDENT_RESOLVED,
    }
    assert {str(r) for r in sends_own} <= {str(r) for r in Reason}
    assert dict(Reason.choices)[Reason.FORGOTTEN] == "value no longer seen"
