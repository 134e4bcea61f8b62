"""The alert list: 50 alerts a page, firing ones first and then by name, found by name and
filtered by state, with links that keep the search and the filter; empty states that say
why nothing shows; another organization's alerts never shown; and the same few queries
whatever the number of alerts and however long their history."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from itertools import count
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.views.listing import PAGE_SIZE
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService, Reason

pytestmark = pytest.mark.django_db

_seq = count()


def _service(org, name: str) -> PagerDutyService:
    return PagerDutyService.objects.create(
        organization=org, name=name, region="us", integration_key="0" * 32
    )


def _alerts(org, names: list[str], **fields) -> list[Alert]:
    """Alerts that have counted for half an hour (so they are plainly OK)."""
    since = timezone.now() - timedelta(minutes=30)
    return [
        Alert.objects.create(organization=org, name=name, counting_since=since, **fields)
        for name in names
    ]


def _fire(alert: Alert, minutes_ago: int = 10) -> Firing:
    return Firing.objects.create(
        organization=alert.organization,
        alert=alert,
        opened_at=timezone.now() - timedelta(minutes=minutes_ago),
        count_at_open=alert.threshold,
    )


def _history(alert: Alert, service: PagerDutyService, firings: int) -> None:
    """`firings` cleared firings, each with a trigger and a resolve, the newest an hour ago."""
    now = timezone.now()
    for i in range(firings):
        opened = now - timedelta(hours=i + 1)
        firing = Firing.objects.create(
            organization=alert.organization,
            alert=alert,
            opened_at=opened,
            cleared_at=opened + timedelta(minutes=5),
            clear_reason=Firing.ClearReason.CLEARED,
            count_at_open=alert.threshold,
        )
        for minutes, action in ((0, EventAction.TRIGGER), (5, EventAction.RESOLVE)):
            _delivery(alert, service, action, opened + timedelta(minutes=minutes), firing)


def _delivery(
    alert: Alert,
    service: PagerDutyService,
    action: str,
    at: object,
    firing: Firing | None = None,
    status: str = Delivery.Status.DELIVERED,
) -> Delivery:
    return Delivery.objects.create(
        organization=alert.organization,
        alert=alert,
        firing=firing,
        service=service,
        service_name=service.name,
        region="us",
        routing_key="R" * 32,
        event_action=action,
        dedup_key=f"tripwire-test-{next(_seq)}",
        body={},
        status=status,
        created_at=at,
    )


def _get(client, org, query: str = "") -> str:
    response = client.get(f"/o/{org.slug}/alerts/{query}")
    assert response.status_code == 200
    return response.content.decode()


def _rows(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="alert-(\d+)">', page)]


def _names(page: str) -> list[str]:
    return re.findall(r'<tr id="alert-\d+">\s*<td><a href="[^"]+"><strong>([^<]+)</strong>', page)


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return html.unescape(found.group(1)) if found else None


def _params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _tab_counts(page: str) -> dict[str, int]:
    """Each state filter's count, by its `state` value."""
    found = re.findall(r'data-show="(\w+)">[^<]+<small class="muted">(\d+)</small>', page)
    return {show: int(n) for show, n in found}


# -- Pages ---------------------------------------------------------------------------------


def test_page_two_shows_the_next_alerts_by_name(admin_client, org):
    names = [f"db replica lag {n:03d}" for n in range(PAGE_SIZE + 20)]
    _alerts(org, names[::-1])  # created in the other order: the list sorts them
    first = _get(admin_client, org)
    assert _names(first) == names[:PAGE_SIZE]
    assert _link(first, "prev") is None
    assert "Page 1 of 2 · alerts 1\u201350 of 70" in first

    second_url = _link(first, "next")
    assert second_url == f"/o/{org.slug}/alerts/?page=2"
    second = admin_client.get(second_url).content.decode()
    assert _names(second) == names[PAGE_SIZE:]
    assert _link(second, "next") is None
    assert _link(second, "prev") == f"/o/{org.slug}/alerts/"
    # A page past the end shows the last; anything but a page number, the first.
    assert _names(_get(admin_client, org, "?page=9")) == names[PAGE_SIZE:]
    assert _names(_get(admin_client, org, "?page=two")) == names[:PAGE_SIZE]


def test_page_links_and_filter_links_keep_the_search_and_the_filter(admin_client, org):
    _alerts(org, [f"Checkout step {n:03d}" for n in range(PAGE_SIZE + 5)])
    _alerts(org, [f"Checkout off {n}" for n in range(3)], enabled=False)
    _alerts(org, ["Search latency"])
    page = _get(admin_client, org, "?q=checkout+step&state=enabled")
    assert len(_rows(page)) == PAGE_SIZE
    assert _params(_link(page, "next")) == {"q": "checkout step", "state": "enabled", "page": "2"}
    second = admin_client.get(_link(page, "next")).content.decode()
    assert len(_rows(second)) == 5
    assert _params(_link(second, "prev")) == {"q": "checkout step", "state": "enabled"}
    # The filters keep the search (and start at page 1); the search form keeps the filter.
    tabs = dict(re.findall(r'<a href="([^"]+)"[^>]*data-show="(\w+)"', second))
    assert {_params(html.unescape(url)).get("q") for url in tabs} == {"checkout step"}
    assert not any("page=" in url for url in tabs)
    assert '<input type="hidden" name="state" value="enabled">' in second
    assert 'name="q" value="checkout step"' in second


# -- Order, search and filters -------------------------------------------------------------


def test_firing_alerts_come_first_then_the_rest_by_name(admin_client, org):
    names = [f"alert {n:03d}" for n in range(PAGE_SIZE + 10)]
    alerts = {a.name: a for a in _alerts(org, names)}
    _fire(alerts["alert 055"], minutes_ago=5)
    _fire(alerts["alert 020"], minutes_ago=50)
    page = _get(admin_client, org)
    shown = _names(page)
    assert shown[:3] == ["alert 020", "alert 055", "alert 000"]
    assert "alert 055" not in shown[2:]
    assert "2 alerts are firing." in page
    # A disabled alert never counts as firing, even with a firing not yet cleared.
    _fire(alerts["alert 001"])
    Alert.objects.filter(pk=alerts["alert 001"].pk).update(enabled=False)
    page = _get(admin_client, org)
    assert _names(page)[:3] == ["alert 020", "alert 055", "alert 000"]
    assert "2 alerts are firing." in page


def test_search_finds_alerts_by_name_whatever_the_case(admin_client, org):
    _alerts(org, ["Checkout errors", "checkout latency", "Search errors", "100% disk full"])
    page = _get(admin_client, org, "?q=CHECKOUT")
    assert _names(page) == ["Checkout errors", "checkout latency"]
    assert "2 alerts match “CHECKOUT”." in page
    assert _names(_get(admin_client, org, "?q=+errors+")) == ["Checkout errors", "Search errors"]
    # Wildcards are plain characters.
    assert _names(_get(admin_client, org, "?q=%25")) == ["100% disk full"]
    assert _names(_get(admin_client, org, "?q=_")) == []


def test_the_state_filter_shows_what_it_says_with_counts(admin_client, org):
    service = _service(org, "Checkout API")
    on = _alerts(org, ["Calm", "Burning", "Orphan"])
    off = _alerts(org, ["Switched off"], enabled=False)
    for alert in (on[0], on[1], off[0]):
        alert.targets.add(service)
    _fire(on[1])
    expected = {
        "all": ["Burning", "Calm", "Orphan", "Switched off"],
        "firing": ["Burning"],
        "enabled": ["Burning", "Calm", "Orphan"],
        "disabled": ["Switched off"],
        "nobody": ["Orphan"],
    }
    for state, names in expected.items():
        page = _get(admin_client, org, f"?state={state}")
        assert _names(page) == names, state
        assert f'aria-current="page" data-show="{state}"' in page
    assert _tab_counts(page) == {state: len(names) for state, names in expected.items()}
    assert _names(_get(admin_client, org, "?state=bogus")) == expected["all"]
    # With a search, the counts are the search's.
    page = _get(admin_client, org, "?q=o")  # Orphan, Switched off
    assert _tab_counts(page) == {"all": 2, "firing": 0, "enabled": 1, "disabled": 1, "nobody": 1}


def test_a_row_shows_state_services_and_last_delivery(admin_client, org):
    zeta, alpha = _service(org, "Zeta on-call"), _service(org, "Alpha on-call")
    burning, quiet, lonely = _alerts(org, ["Burning", "Quiet", "Lonely"])
    burning.targets.add(zeta, alpha)
    quiet.targets.add(alpha)
    _history(burning, alpha, firings=3)
    _fire(burning, minutes_ago=65)
    now = timezone.now()
    _delivery(burning, zeta, EventAction.TRIGGER, now - timedelta(hours=2), status="failed")
    _delivery(burning, alpha, EventAction.TRIGGER, now - timedelta(minutes=30), status="queued")
    page = _get(admin_client, org)
    rows = dict(re.findall(r'<tr id="alert-(\d+)">(.*?)</tr>', page, re.S))
    row = rows[str(burning.pk)]
    assert ">Firing</span>" in row and "for 1 h 5 min" in row
    assert "Alpha on-call, Zeta on-call" in row
    assert ">Queued</span>" in row and "30\xa0minutes ago" in row  # the latest delivery
    assert "is firing. Disabling it resolves its incident in PagerDuty." in row
    assert ">OK</span>" in rows[str(quiet.pk)] and "Never" in rows[str(quiet.pk)]
    assert ">No service</span>" in rows[str(lonely.pk)]


def test_a_test_incidents_waiting_automatic_resolve_is_not_the_last_delivery(admin_client, org):
    service = _service(org, "Alpha on-call")
    [alert] = _alerts(org, ["Tested"])
    alert.targets.add(service)
    now = timezone.now()
    _delivery(alert, service, EventAction.TRIGGER, now - timedelta(minutes=2))
    waiting = _delivery(alert, service, EventAction.RESOLVE, now, status="queued")
    Delivery.objects.filter(pk=waiting.pk).update(
        reason=Reason.TEST_EXPIRED, next_attempt_at=now + timedelta(minutes=8)
    )
    row = dict(re.findall(r'<tr id="alert-(\d+)">(.*?)</tr>', _get(admin_client, org), re.S))
    assert ">Delivered</span>" in row[str(alert.pk)] and "2\xa0minutes ago" in row[str(alert.pk)]
    # Once its time has come, it is the latest delivery like any other.
    Delivery.objects.filter(pk=waiting.pk).update(next_attempt_at=now - timedelta(seconds=1))
    row = dict(re.findall(r'<tr id="alert-(\d+)">(.*?)</tr>', _get(admin_client, org), re.S))
    assert ">Resolve queued</span>" in row[str(alert.pk)]


# -- Empty states --------------------------------------------------------------------------


def test_no_alerts_yet_is_not_no_match(admin_client, org):
    page = _get(admin_client, org, "?q=anything")
    assert "No alerts yet." in page and "Create your first alert" in page
    assert 'role="search"' not in page and "No alerts match" not in page

    _alerts(org, ["Checkout errors"])
    page = _get(admin_client, org, "?q=xyz")
    assert "No alerts match “xyz”." in page and "No alerts yet." not in page
    assert _rows(page) == []
    clear = re.search(r'<a href="([^"]+)" role="button" class="secondary">Clear search', page)
    assert clear and clear.group(1) == f"/o/{org.slug}/alerts/"
    assert _names(admin_client.get(clear.group(1)).content.decode()) == ["Checkout errors"]


def test_an_empty_filter_says_so_and_offers_the_rest(admin_client, org):
    _alerts(org, ["db primary", "db replica", "web"])
    page = _get(admin_client, org, "?state=disabled")
    assert "No alert is disabled." in page and _rows(page) == []
    everything = f'<a href="/o/{org.slug}/alerts/" role="button" class="secondary">'
    assert f"{everything}Show all alerts</a>" in page

    page = _get(admin_client, org, "?q=db&state=disabled")
    assert "No disabled alerts match “db”." in page
    show_all = f'<a href="/o/{org.slug}/alerts/?q=db" role="button" class="secondary outline">'
    assert f"{show_all}Show all 2 matching</a>" in page
    clear = f'<a href="/o/{org.slug}/alerts/?state=disabled" role="button" class="secondary">'
    assert f"{clear}Clear search</a>" in page


# -- Tenants -------------------------------------------------------------------------------


def test_another_organizations_alerts_never_show(admin_client, org, make_org):
    other = make_org("Other Co")
    [theirs] = _alerts(other, ["Checkout errors elsewhere"])
    _fire(theirs)
    _alerts(other, [f"Checkout other {n}" for n in range(PAGE_SIZE + 5)], enabled=False)
    _alerts(org, ["Checkout errors"])
    for query in ("", "?q=checkout", "?q=elsewhere", "?state=firing", "?state=disabled"):
        page = _get(admin_client, org, query)
        assert _names(page) in ([], ["Checkout errors"]), query
        assert "errors elsewhere" not in page and "Checkout other" not in page, query
        assert "No alert is firing." in page and "Page 1 of" not in page
    assert _tab_counts(_get(admin_client, org)) == {
        "all": 1,
        "firing": 0,
        "enabled": 1,
        "disabled": 0,
        "nobody": 1,
    }
    assert "No alerts match “elsewhere”." in _get(admin_client, org, "?q=elsewhere")
    # Their list is theirs alone: a member of this organization only gets a 404.
    assert admin_client.get(f"/o/{other.slug}/alerts/?q=checkout").status_code == 404


# -- Queries -------------------------------------------------------------------------------


def _queries(client, org, query: str = "") -> int:
    with CaptureQueriesContext(connection) as captured:
        _get(client, org, query)
    return len(captured)


def test_the_page_costs_the_same_queries_whatever_the_alerts_and_their_history(admin_client, org):
    service, other_service = _service(org, "Checkout API"), _service(org, "Search API")
    few = _alerts(org, ["a few 1", "a few 2"])
    few[0].targets.add(service)
    _fire(few[1])
    _get(admin_client, org)  # the first page of an organization remembers it in the session
    small = {q: _queries(admin_client, org, q) for q in ("", "?q=a", "?state=firing")}

    many = _alerts(org, [f"many {n:03d}" for n in range(2 * PAGE_SIZE)])
    for n, alert in enumerate(many):
        alert.targets.add(service, other_service)
        if n % 10 == 0:
            _fire(alert)
    for alert in many[:PAGE_SIZE:5]:  # on the first page: firing ones, then "a few", "many"
        _history(alert, service, firings=4)
    assert len(_rows(_get(admin_client, org))) == PAGE_SIZE
    large = {q: _queries(admin_client, org, q) for q in ("", "?q=a", "?state=firing")}
    assert large == small
    # Page 2 has no firing alert: it skips the one query for their incidents.
    assert _queries(admin_client, org, "?page=2") == small[""] - 1
    # The session, the user, the tenant, the menu, the paging banner, four for the list, one
    # for the firing alerts' incidents in PagerDuty, and one for the mute windows.
    assert small[""] <= 11


# -- Enable and disable from the list ------------------------------------------------------


def test_enable_and_disable_come_back_to_the_same_page_search_and_filter(admin_client, org):
    alerts = _alerts(org, [f"db {n:03d}" for n in range(PAGE_SIZE + 3)])
    page = _get(admin_client, org, "?q=db&state=enabled&page=2")
    form = re.search(r'<form id="alert-toggle" method="post" hidden>(.*?)</form>', page)
    assert form is not None
    posted = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(1)))
    assert posted == {
        "csrfmiddlewaretoken": posted["csrfmiddlewaretoken"],
        "from": "list",
        "q": "db",
        "state": "enabled",
        "page": "2",
    }
    target = alerts[-1]
    button = f'formaction="/o/{org.slug}/alerts/{target.pk}/toggle/" name="enabled" value="0"'
    assert button in page

    response = admin_client.post(f"/o/{org.slug}/alerts/{target.pk}/toggle/", posted)
    assert response.status_code == 302
    assert response["Location"] == f"/o/{org.slug}/alerts/?q=db&state=enabled&page=2"
    target.refresh_from_db()
    assert not target.enabled
    # What is posted back only ever leads to this organization's list.
    response = admin_client.post(
        f"/o/{org.slug}/alerts/{target.pk}/toggle/",
        {"from": "list", "q": "//evil.example", "state": "x", "page": "-3"},
    )
    assert response["Location"] == f"/o/{org.slug}/alerts/?q=%2F%2Fevil.example"
