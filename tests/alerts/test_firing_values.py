"""An alert that groups, with several hosts firing: each host's own PagerDuty incident can be
seen and handled from the alert page (acknowledge, resolve, a note, resolve here), not only
the first host's; many hosts are shown a page at a time, at a fixed number of queries."""

from __future__ import annotations

import re
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts import evaluation
from alerts_saas.alerts.conditions import Event
from alerts_saas.alerts.models import Alert, Firing, GroupBy, Level
from alerts_saas.alerts.views.firing_values import VALUES_SHOWN
from integrations.pagerduty.incidents.models import Incident
from integrations.pagerduty.models import Delivery, EventAction
from tests.alerts.test_alert_page import _alert

pytestmark = pytest.mark.django_db


def _fire(org, hosts: list[str]) -> list[Firing]:
    """Three errors from each host: each host fires on its own, in this order."""
    firings = []
    for host in hosts:
        events = [
            Event(timestamp=time.time(), app="checkout", source=host, level=Level.ERROR)
            for _ in range(3)
        ]
        firings += evaluation.record(org.pk, events)
    return firings


def _incident(firing: Firing, number: int) -> Incident:
    trigger = Delivery.objects.get(firing=firing, event_action=EventAction.TRIGGER)
    now = timezone.now()
    return Incident.objects.create(
        organization_id=trigger.organization_id,
        service_id=trigger.service_id,
        dedup_key=trigger.dedup_key,
        pd_incident_id=f"PINC{number}",
        number=number,
        status="triggered",
        status_changed_at=now,
        assignees=["Olivia Oncall"],
    )


@pytest.fixture
def per_host(org, connected_service) -> Alert:
    return _alert(org, connected_service, group_by=GroupBy.SOURCE)


def _item(page: str, firing: Firing) -> str:
    found = re.search(
        rf'<li class="firing-value" id="firing-value-{firing.pk}".*?\n    </li>', page, re.S
    )
    assert found, f"no item for {firing.group}"
    return found.group(0)


def test_each_host_firing_has_its_own_incident_and_buttons(admin_client, org, per_host) -> None:
    web5, web6 = _fire(org, ["web-5", "web-6"])
    incidents = {web5.pk: _incident(web5, 5), web6.pk: _incident(web6, 6)}
    base = f"/o/{org.slug}"
    page = admin_client.get(f"{base}/alerts/{per_host.pk}/").content.decode()
    fragment = admin_client.get(f"{base}/alerts/{per_host.pk}/live/targets/").content.decode()
    for shown in (page, fragment):
        assert "Each source firing, with its own incident" in shown
        for firing in (web5, web6):
            item = _item(shown, firing)
            incident = incidents[firing.pk]
            assert f"<code>{firing.group}</code>" in item
            assert "Triggered</span>" in item  # its badge, then the rest
            assert '<span class="incident-words">assigned to Olivia Oncall.</span>' in item
            for action in ("acknowledge", "resolve", "note"):
                assert f'action="{base}/incidents/{incident.pk}/{action}/"' in item
            assert f'name="firing" value="{firing.pk}"' in item
            assert f"Resolve {firing.group} and page again</button>" in item
    # One button of each kind per host: nothing left over for "the alert" as a whole.
    assert page.count(">Acknowledge</button>") == 2
    assert page.count('name="firing" value=') == 2


def test_acknowledging_one_host_comes_back_to_the_same_page_of_hosts(
    admin_client, org, per_host
) -> None:
    hosts = [f"web-{i:02}" for i in range(VALUES_SHOWN + 3)]
    firings = _fire(org, hosts)
    last = firings[-1]
    incident = _incident(last, 99)
    url = f"/o/{org.slug}/alerts/{per_host.pk}/"
    first = admin_client.get(url).content.decode()
    assert f"Source values 1 to {VALUES_SHOWN} of {len(hosts)} firing" in first
    assert "3 more on the next pages" in first
    assert f'id="firing-value-{last.pk}"' not in first
    assert "values_page=2" in first and "Fired later →" in first
    second = admin_client.get(url, {"values_page": 2}).content.decode()
    item = _item(second, last)
    assert f'action="/o/{org.slug}/incidents/{incident.pk}/acknowledge/"' in item
    assert f'name="next" value="{url}?values_page=2"' in item
    assert "Fired later →" not in second and "← Fired earlier" in second


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_many_hosts_firing_cost_the_queries_of_a_few(admin_client, org, per_host) -> None:
    """The second page of hosts with one host on it, then with a full page: same queries."""
    url = f"/o/{org.slug}/alerts/{per_host.pk}/"
    pages = (f"{url}?values_page=2", f"{url}live/targets/?values_page=2")
    for firing in _fire(org, [f"web-{i:02}" for i in range(VALUES_SHOWN + 1)]):
        _incident(firing, firing.pk)
    admin_client.get(url)  # the session and the caches warm
    assert admin_client.get(pages[0]).content.decode().count('class="firing-value"') == 1
    few = [_queries(admin_client, page) for page in pages]
    for firing in _fire(org, [f"web-{i}" for i in range(VALUES_SHOWN + 1, 2 * VALUES_SHOWN + 9)]):
        _incident(firing, firing.pk)
    assert [_queries(admin_client, page) for page in pages] == few
    second = admin_client.get(pages[0]).content.decode()
    assert second.count('class="firing-value"') == VALUES_SHOWN
    assert second.count(">Acknowledge</button>") == VALUES_SHOWN
    assert "9 more on the next pages" in second
