"""A firing that paged a service added with a pasted key: Tripwire sends PagerDuty a resolve
when the firing is resolved, deleted, disabled or stops being watched, but can't see whether
that incident was still open. The alert list, the delete page, the confirmations and the
messages say so, and never that its open incident is resolved nor that resolving it in
PagerDuty clears it here."""

from __future__ import annotations

from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.reach import PASTED_KEY
from alerts_saas.alerts.resolves import Resolves
from integrations.pagerduty.models import Delivery, EventAction
from tests.alerts.test_alert_page import _alert, _events
from tests.alerts.test_stop_watching import _per_host, _quiet
from tests.incidents.test_incident_pages import _get
from tests.incidents.test_pasted_key_incident_unknown import _paged_through_pasted_key

pytestmark = pytest.mark.django_db

SENT = (
    "A resolve is being sent to PagerDuty for its page: Tripwire can't see whether that "
    "incident was still open (the service was added with a pasted key)."
)
WILL = (
    "Deleting it sends PagerDuty a resolve for its page: Tripwire can't see whether that "
    "incident is still open (the service was added with a pasted key)."
)
DISABLE_CONFIRM = (
    "Disabling it sends PagerDuty a resolve for its incident: Tripwire can't see whether it "
    "is still open (the service was added with a pasted key)."
)


def _said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _accepted(firing: Firing) -> None:
    Delivery.objects.filter(firing=firing, event_action=EventAction.TRIGGER).update(
        status=Delivery.Status.DELIVERED
    )


def _waiting(org, make_service, name: str = "Checkout errors") -> Alert:
    """An alert that waits for a person, its condition cleared, its page to a pasted key's
    service accepted by PagerDuty."""
    alert, firing = _paged_through_pasted_key(org, make_service, auto_resolve=False)
    if name != alert.name:
        Alert.objects.filter(pk=alert.pk).update(name=name)
    Firing.objects.filter(pk=firing.pk).update(condition_cleared_at=timezone.now())
    return alert


def test_the_list_says_only_resolving_here_clears_it(admin_client, org, make_service) -> None:
    _waiting(org, make_service)
    listing = unescape(_get(admin_client, f"/o/{org.slug}/alerts/"))
    assert "stays open until resolved here" in listing
    assert "resolved in PagerDuty or here" not in listing
    assert DISABLE_CONFIRM in listing
    assert "Disabling it resolves its incident in PagerDuty" not in listing


def test_the_list_reads_pasted_keys_in_the_same_queries_for_1_or_3_rows(
    admin_client, org, make_service
) -> None:
    service = make_service()
    url = f"/o/{org.slug}/alerts/"

    def fire(*names: str) -> None:
        for name in names:
            _alert(org, service, name=name, auto_resolve=False)
        _events(org, 3)
        for firing in Firing.objects.filter(alert__name__in=names):
            _accepted(firing)
        Firing.objects.update(condition_cleared_at=timezone.now())

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        return len(captured)

    fire("Checkout errors 1")
    _get(admin_client, url)  # the first page of an organization remembers it in the session
    one = queries()
    fire("Checkout errors 2", "Checkout errors 3")
    three = queries()
    listing = _get(admin_client, url)
    assert listing.count("stays open until resolved here") == 3
    assert one == three, (one, three)


def test_the_delete_page_says_a_resolve_is_sent(admin_client, org, make_service) -> None:
    alert, _firing = _paged_through_pasted_key(org, make_service)
    page = unescape(_get(admin_client, f"/o/{org.slug}/alerts/{alert.pk}/delete/"))
    assert WILL in page
    assert "resolves its open incident" not in page


def test_deleting_it_says_a_resolve_is_sent(admin_client, org, make_service) -> None:
    alert, _firing = _paged_through_pasted_key(org, make_service)
    response = admin_client.post(f"/o/{org.slug}/alerts/{alert.pk}/delete/")
    assert _said(response)[-1] == (
        f"Alert “Checkout errors” deleted. {SENT} Its delivery history stays."
    )


def test_the_resolve_button_says_a_resolve_is_sent(admin_client, org, make_service) -> None:
    alert = _waiting(org, make_service)
    page = unescape(_get(admin_client, alert.get_absolute_url()))
    assert (
        "Sends PagerDuty a resolve for “Checkout errors”. Tripwire can't see whether its "
        "incident there is still open (the service was added with a pasted key)."
    ) in page
    assert "Resolves the incidents in PagerDuty for" not in page


def test_resolving_it_says_a_resolve_is_sent(admin_client, org, make_service) -> None:
    alert = _waiting(org, make_service)
    firing = Firing.objects.get(alert=alert)
    response = admin_client.post(f"{alert.get_absolute_url()}resolve/", {"firing": firing.pk})
    assert _said(response)[-1] == (
        f"“Checkout errors” resolved. {SENT} If its condition still holds, it fires again at "
        "the next check."
    )


def test_the_disable_button_says_a_resolve_is_sent(admin_client, org, make_service) -> None:
    alert, _firing = _paged_through_pasted_key(org, make_service)
    page = unescape(_get(admin_client, alert.get_absolute_url()))
    assert DISABLE_CONFIRM in page
    assert "Disabling it resolves its incident in PagerDuty" not in page


def test_disabling_it_says_a_resolve_is_sent(admin_client, org, make_service) -> None:
    alert, _firing = _paged_through_pasted_key(org, make_service)
    response = admin_client.post(f"{alert.get_absolute_url()}toggle/", {"enabled": "0"})
    assert _said(response)[-1] == f"Alert “Checkout errors” disabled. {SENT}"


def _host_paged(org, make_service) -> Alert:
    """An absence alert per host, web-1 quiet, its page to a pasted key's service accepted."""
    alert = _per_host(org, make_service())
    _quiet(org, alert, "web-1")
    _accepted(Firing.objects.get(alert=alert, group="web-1"))
    return alert


def test_stop_watching_a_host_confirms_a_resolve_is_sent(admin_client, org, make_service) -> None:
    alert = _host_paged(org, make_service)
    page = unescape(_get(admin_client, alert.get_absolute_url()))
    assert (
        "A resolve is sent to PagerDuty for its incident (Tripwire can't see whether it is "
        "still open: the service was added with a pasted key)"
    ) in page


def test_stop_watching_a_host_says_a_resolve_is_sent(admin_client, org, make_service) -> None:
    alert = _host_paged(org, make_service)
    url = reverse("alerts:stop_watching", args=[org.slug, alert.pk])
    response = admin_client.post(url, {"value": "web-1"})
    sending = SENT[:1].lower() + SENT[1:-1]
    assert _said(response)[-1] == (
        f"web-1 is no longer watched by “Host went quiet”; {sending}. It is watched again from "
        "its next matching event."
    )


def test_a_host_waiting_for_a_person_says_only_resolving_here_clears_it(
    admin_client, org, make_service
) -> None:
    """Two hosts fire: each has its own line under “Each … firing”."""
    alert = _per_host(org, make_service())
    _quiet(org, alert, "web-1", "web-2")
    for firing in Firing.objects.filter(alert=alert):
        _accepted(firing)
    Alert.objects.filter(pk=alert.pk).update(auto_resolve=False)
    Firing.objects.filter(alert=alert).update(condition_cleared_at=timezone.now())
    page = _get(admin_client, alert.get_absolute_url())
    assert page.count("stays open until resolved here.</small>") == 2
    assert "resolved in PagerDuty or here" not in page


def test_one_seen_and_one_unseen_say_each() -> None:
    both = Resolves(seen=1, unseen=1, why=PASTED_KEY)
    assert both.sent_words("open") == (
        "Its open incident is being resolved in PagerDuty, and a resolve is being sent to "
        "PagerDuty for its page: Tripwire can't see whether that incident was still open "
        "(the service was added with a pasted key)."
    )
    assert both.will_words("Deleting it") == (
        "Deleting it resolves its open incident in PagerDuty, and sends PagerDuty a resolve "
        "for its page: Tripwire can't see whether that incident is still open (the service "
        "was added with a pasted key)."
    )
    assert Resolves.counted(sent=2, unseen=1, why=PASTED_KEY) == both
