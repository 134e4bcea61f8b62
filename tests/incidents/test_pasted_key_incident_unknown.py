"""A service added with a pasted integration key: PagerDuty takes Tripwire's events but tells
it nothing of incidents. After an accepted trigger the pages say so, and never that the
incident is open, nor that resolving it in PagerDuty clears the firing here; no Acknowledge
or Resolve-in-PagerDuty button is offered. The API says whether it paged, and nothing of
the incident's state."""

from __future__ import annotations

from html import unescape

import pytest

from alerts_saas.ingest.models import ApiToken, Scope
from integrations.pagerduty.models import Delivery, EventAction
from tests.alerts.test_alert_page import _alert, _events
from tests.api_client import Api
from tests.incidents.test_incident_pages import _get

pytestmark = pytest.mark.django_db

UNSEEN = (
    "PagerDuty accepted the page. Tripwire can't see this incident (the service was added "
    "with a pasted key): check PagerDuty."
)
NOT_CLEARED = (
    "Resolving the incident in PagerDuty does not clear it here: Tripwire can't see that "
    "incident (the service was added with a pasted key)."
)
MUTE_WORDS = (
    "Its incident in PagerDuty, if still open, stays open. Tripwire can't see it (the "
    "service was added with a pasted key): check PagerDuty."
)


def _paged_through_pasted_key(org, make_service, **fields):
    """An alert paging a pasted-key service, firing, its trigger accepted by PagerDuty."""
    service = make_service()
    assert service.account_id is None
    alert = _alert(org, service, **fields)
    [firing] = _events(org, 3)
    trigger = Delivery.objects.get(firing=firing, event_action=EventAction.TRIGGER)
    trigger.status = Delivery.Status.DELIVERED
    trigger.save(update_fields=["status"])
    return alert, firing


def test_the_alert_page_says_what_is_known_and_offers_no_incident_buttons(
    admin_client, org, make_service
) -> None:
    alert, _firing = _paged_through_pasted_key(org, make_service)
    page = _get(admin_client, f"/o/{org.slug}/alerts/{alert.pk}/")
    assert UNSEEN in page
    assert NOT_CLEARED in page
    assert MUTE_WORDS in unescape(page)
    assert "The incident already open in PagerDuty stays open" not in page
    assert "Resolving the incident in PagerDuty stops the paging" not in page
    assert ">Acknowledge<" not in page and "Resolve in PagerDuty" not in page
    assert "Add a note" not in page
    targets = _get(admin_client, f"/o/{org.slug}/alerts/{alert.pk}/live/targets/")
    assert UNSEEN in targets and ">Acknowledge<" not in targets


def test_one_that_waits_for_a_person_says_only_resolving_here_clears_it(
    admin_client, org, make_service
) -> None:
    alert, _firing = _paged_through_pasted_key(org, make_service, auto_resolve=False)
    page = _get(admin_client, f"/o/{org.slug}/alerts/{alert.pk}/")
    assert "it stays open until resolved here, even after the condition clears" in page
    assert "resolved in PagerDuty or here" not in page
    assert "Resolving the incident in PagerDuty does the same" not in page
    assert NOT_CLEARED in page


def test_mute_1_h_says_the_incident_is_not_known(admin_client, org, make_service) -> None:
    alert, _firing = _paged_through_pasted_key(org, make_service)
    response = admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/mute/hour/", follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert MUTE_WORDS in unescape(page)
    assert "The incident already open in PagerDuty stays open" not in page


def test_the_api_says_it_paged_and_nothing_of_the_incident(org, make_service) -> None:
    """The firing's answer has `paging` ("paged": PagerDuty accepted it) and no field about
    the incident's state, which Tripwire can't know for a pasted key."""
    _, firing = _paged_through_pasted_key(org, make_service)
    _token, secret = ApiToken.issue(org, "tool", scope=Scope.READ)
    body = Api(secret).get(f"/firings/{firing.pk}", status=200).json()
    assert body["paging"] == "paged" and body["is_open"] is True
    assert not [key for key in body if "incident" in key or "acknowledg" in key]
