"""A quiet host of an absence alert stays watched: resolved by hand it fires again while
quiet; a page of many firing hosts lets each be stopped; "Resolve a quiet value by itself"
only with "Resolve when the condition clears", as the page says (review r2)."""

from __future__ import annotations

import time

import pytest
import redis
from django.urls import reverse

from alerts_saas.alerts import evaluation, groups
from alerts_saas.alerts.counting import counts
from alerts_saas.alerts.models import Alert, Firing
from tests.alerts.test_stop_watching import _per_host, _quiet

pytestmark = pytest.mark.django_db


def test_a_long_quiet_host_resolved_by_hand_fires_again_while_it_stays_quiet(
    org, make_service, admin_client
):
    """The Resolve button promises it: "Its condition still holds, so it fires again at the
    next check". Resolved after 15 windows of silence, the host was forgotten instead."""
    alert = _per_host(org, make_service())
    start = _quiet(org, alert, "web-1")
    assert evaluation.evaluate(now=start + 900)["opened"] == 0  # 15 windows: still firing
    firing = Firing.objects.get(alert=alert, cleared_at__isnull=True)
    page = admin_client.get(alert.get_absolute_url()).content.decode()
    assert "so it fires again at the next check" in page
    url = reverse("alerts:resolve", args=[org.slug, alert.pk])
    admin_client.post(url, {"firing": firing.pk})
    assert Firing.objects.get(pk=firing.pk).cleared_at is not None
    assert evaluation.evaluate(now=time.time() + 905)["opened"] == 1
    assert Firing.objects.filter(alert=alert, group="web-1", cleared_at__isnull=True).exists()


def test_every_firing_host_can_be_stopped_when_the_table_is_cut(
    org, make_service, admin_client, monkeypatch
):
    monkeypatch.setattr(groups, "GROUPS_SHOWN", 1)
    alert = _per_host(org, make_service())
    _quiet(org, alert, "web-1", "web-2")
    page = admin_client.get(alert.get_absolute_url()).content.decode()
    assert "more, not firing" not in page and "some of them firing" in page
    for host in ("web-1", "web-2"):  # each in the firing list, with its own button
        assert f'name="value" value="{host}"' in page


def test_resolving_quiet_values_needs_resolving_when_the_condition_clears(
    org, make_service, admin_client, connected_service, form_data
):
    """With auto-resolve off the option is refused by the form and ignored if stored, and
    the page says the host stays watched, as it does."""
    wanted = {"kind": "absence", "group_by": "source", "resolve_quiet_values": "on"}
    data = {**form_data([connected_service.pk], threshold="1"), **wanted}
    data.pop("auto_resolve")
    assert admin_client.post(f"/o/{org.slug}/alerts/new/", data).status_code == 302
    assert not Alert.objects.get(name=data["name"]).resolve_quiet_values
    alert = _per_host(org, make_service())
    Alert.objects.filter(pk=alert.pk).update(auto_resolve=False, resolve_quiet_values=True)
    start = _quiet(org, alert, "web-1")
    page = admin_client.get(alert.get_absolute_url()).content.decode()
    assert "stays watched until it sends a matching event again" in page
    evaluation.evaluate(now=start + 3600)
    assert Firing.objects.filter(alert=alert, cleared_at__isnull=True).exists()


def test_stop_watching_is_only_for_an_alert_that_counts_per_value(org, make_service, admin_client):
    alert = _per_host(org, make_service())
    Alert.objects.filter(pk=alert.pk).update(group_by="")
    url = reverse("alerts:stop_watching", args=[org.slug, alert.pk])
    assert admin_client.post(url, {"value": ""}).status_code == 404


def test_stop_watching_while_the_count_store_is_down_changes_nothing_and_says_so(
    org, make_service, admin_client, monkeypatch
):
    alert = _per_host(org, make_service())
    _quiet(org, alert, "web-1")

    def down(*args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(counts(), "forget", down)
    url = reverse("alerts:stop_watching", args=[org.slug, alert.pk])
    text = admin_client.post(url, {"value": "web-1"}, follow=True).content.decode()
    assert "web-1 is still watched: Tripwire could not reach its count store" in text
    assert Firing.objects.get(alert=alert).cleared_at is None  # the clear rolled back
