"""The dashboard asks once per firing, in each query that ranks the firings, whether
PagerDuty accepted one of its triggers (the subquery of `reach.accepted_triggers`), not
once for each of its flags and counts; and it costs the same queries with 1 or 50 firing
alerts, each of which reaching nobody, not paged yet or paged through the fallback."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts_saas.accounts.models import Organization
from tests.dashboard.conftest import alert, delivery, fire, service
from tests.dashboard.test_dashboard import part
from tests.dashboard.test_firing_reach import _paged_through, _refused_service
from tests.dashboard.test_not_paged_yet import _failing

pytestmark = pytest.mark.django_db

# The accepted triggers' filter as the SQL says it: a firing's triggers PagerDuty took.
_FIRING = r"(?:\"alerts_firing\"|W0)"
_ACCEPTED = re.compile(
    rf"\w+.\"event_action\" = 'trigger' AND \w+.\"firing_id\" = \({_FIRING}.\"id\"\)"
    rf" AND [^()]*\({_FIRING}.\"organization_id\"\) AND \w+.\"status\" = 'delivered'"
)


def _firing_queries(client: Client, org: Organization) -> list[str]:
    """The SQL of the dashboard's queries."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/o/{org.slug}/").status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_each_firing_is_asked_once_whether_pagerduty_accepted_it_with_1_or_50(
    admin_client: Client, org: Organization
) -> None:
    checkout = service(org, "Checkout API")
    first = alert(org, "Checkout errors 0", checkout)
    delivery(org, checkout, made=first, firing=fire(first))
    # The broken paths are there from the start: only the firings change.
    nobody = alert(org, "Search latency", _refused_service(org, "Old search"))
    rescued = alert(org, "DB errors", _refused_service(org, "Legacy DB"))
    _firing_queries(admin_client, org)  # the first page of an organization remembers it
    one = _firing_queries(admin_client, org)

    for n in range(1, 47):
        made = alert(org, f"Checkout errors {n}", checkout)
        delivery(org, checkout, made=made, firing=fire(made, minutes_ago=n))
    _failing(org, "Billing")
    fire(nobody, minutes_ago=3)
    _paged_through(org, rescued, fire(rescued, minutes_ago=1), "Android Sync")
    fifty = _firing_queries(admin_client, org)

    assert len(fifty) == len(one), "\n\n".join(fifty)
    ranking = [sql for sql in fifty if _ACCEPTED.search(sql)]
    assert ranking, "no query asks which triggers PagerDuty accepted"
    for sql in ranking:
        assert len(_ACCEPTED.findall(sql)) == 1, sql
    # What the ranking says is still right.
    page = admin_client.get(f"/o/{org.slug}/").content.decode()
    summary = part(page, "dashboard-summary")
    assert summary.startswith("1 firing alert pages nobody. 1 firing alert not paged yet: ")
    assert "50 alerts are firing." in summary
    assert "Paged through the fallback, Android Sync." in part(page, f"firing-{rescued.pk}")
    assert "Nobody is paged for it." in part(page, f"firing-{nobody.pk}")
