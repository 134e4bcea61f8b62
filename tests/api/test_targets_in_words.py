"""An alert's `targets` naming no PagerDuty service of this organization (a typo, another
organization's id, a deleted service) is said in the API's words, with where the ids are
listed, not the web form's "Select a valid choice"."""

from __future__ import annotations

import pytest

from alerts_saas.alerts.models import Alert
from tests.api.conftest import alert_body

pytestmark = pytest.mark.django_db

WHERE = "GET /api/v1/services lists its services, with the id to use."


def test_an_unknown_target_is_named_with_where_to_find_the_ids(api, service):
    refused = api.post("/alerts", alert_body(service, targets=[999]), status=400).json()
    said = f"There is no PagerDuty service 999 in this organization. {WHERE}"
    assert refused["errors"] == [{"field": "targets", "message": said}]
    assert refused["message"] == f"The alert was not saved. targets: {said}"
    assert "Select a valid choice" not in refused["message"]
    assert not Alert.objects.exists()


def test_every_unknown_target_is_named_another_organizations_too(api, service, make_org):
    theirs = make_org("Other Org").pagerduty_services.create(
        name="Theirs", region="us", integration_key="c" * 32
    )
    body = alert_body(service, targets=[service.pk, theirs.pk, 999])
    [problem] = api.post("/alerts", body, status=400).json()["errors"]
    assert problem == {
        "field": "targets",
        "message": f"There are no PagerDuty services {theirs.pk} and 999 in this organization. "
        + WHERE,
    }


def test_a_changed_alerts_unknown_target_is_named_too(api, service):
    made = api.post("/alerts", alert_body(service), status=201)
    alert = made.json()
    refused = api.patch(
        f"/alerts/{alert['id']}", {"targets": [998]}, status=400, **{"If-Match": made["ETag"]}
    ).json()
    assert refused["errors"] == [
        {
            "field": "targets",
            "message": f"There is no PagerDuty service 998 in this organization. {WHERE}",
        }
    ]
    assert list(Alert.objects.get().targets.all()) == [service]
