"""The service picker, as the server answers it: one line per service (its name, its team),
found by name or team, a page at a time, with the ticks carried along; one empty state."""

from __future__ import annotations

import re

import pytest

from integrations.pagerduty.models import PagerDutyService

pytestmark = pytest.mark.django_db


@pytest.fixture
def picker(admin_client, org, connect):
    account = connect(admin_client)
    return f"/o/{org.slug}/settings/integrations/pagerduty/accounts/{account.pk}/services/"


@pytest.fixture
def ids(pagerduty) -> dict[str, str]:
    return {s["name"]: s["id"] for s in pagerduty.account("us")["services"]}


def _rows(page: str) -> list[str]:
    """Each row's text, tags gone and spaces squeezed."""
    rows = re.findall(r'<ul class="picker-list">(.*?)</ul>', page, re.S)
    items = re.findall(r"<li>(.*?)</li>", rows[0], re.S) if rows else []
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_each_service_is_one_line_with_its_team(admin_client, picker) -> None:
    page = admin_client.get(picker).content.decode()
    rows = _rows(page)
    assert len(rows) == 25
    assert rows[0] == "Android Sync Mobile"
    assert rows[1] == "Checkout API 001 Payments"
    assert "Checkout API 001 (Payments)" not in page  # the description said the name again


def test_a_team_name_finds_its_services(admin_client, picker) -> None:
    page = admin_client.get(picker, {"q": "  mobile "}).content.decode()
    assert _rows(page) == ["Android Sync Mobile", "iOS Push Relay Mobile"]
    assert "2 of 139 services match “mobile” by name or team." in page


def test_a_search_that_finds_nothing_says_so_once(admin_client, picker) -> None:
    page = admin_client.get(picker, {"q": "zebra"}, HTTP_HX_REQUEST="true").content.decode()
    assert _rows(page) == []
    assert page.count("zebra") == 1
    assert "No service's name or team contains “zebra”." in page
    assert "0 " not in re.sub(r"<[^>]+>", "", page)  # no "0 services" beside it
    assert "Show all services" in page


def test_ticks_travel_with_search_and_paging(admin_client, picker, ids) -> None:
    ticked = [ids["Android Sync"], ids["Checkout API 127"]]
    # A search for another page of the list, with both ticks carried (as htmx sends them).
    page = admin_client.get(picker, {"q": "checkout", "page": "6", "service": ticked})
    body = page.content.decode()
    box = re.search(rf'<input[^>]*value="{ids["Checkout API 127"]}"[^>]*>', body)
    assert box and "checked" in box.group(0)
    # The full page lists both as selected, with the count and the button saying so.
    assert "2 services selected" in body
    assert "Connect 2 services" in body
    selected = re.search(r'<ul id="selected-list".*?</ul>', body, re.S)
    assert selected and "Android Sync" in selected.group(0)
    assert "Checkout API 127" in selected.group(0)


def test_connect_adds_every_tick_whatever_was_searched_last(
    admin_client, picker, ids, pagerduty
) -> None:
    chosen = [ids["Android Sync"], ids["Checkout API 127"], ids["Edge Gateway"]]
    response = admin_client.post(picker, {"service": chosen}, follow=True)
    assert "Connected Android Sync, Checkout API 127, Edge Gateway." in response.content.decode()
    assert sorted(PagerDutyService.objects.values_list("name", flat=True)) == [
        "Android Sync",
        "Checkout API 127",
        "Edge Gateway",
    ]


def test_connect_with_nothing_ticked_says_so(admin_client, picker) -> None:
    response = admin_client.post(picker, {}, follow=True)
    body = response.content.decode()
    assert "Choose at least one service to connect." in body
    assert "No services selected" in body
    assert not PagerDutyService.objects.exists()
