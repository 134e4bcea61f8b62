"""A key's revoke blames itself only for the absence alerts that count events now: one that
counts none (no event matched it in its window) fires, or waits to, whether or not the key
is revoked, and one that fires already can't be set off. Both are listed apart in those
words, on the page and in the API's answer, never as "fires within its window" because of
the revoke. Counts that a store restart left unknown are not taken as zero."""

from __future__ import annotations

import html
import re
import time

import pytest

from alerts_saas.alerts.counting import counts
from alerts_saas.alerts.counting_redis import EPOCH_KEY, RedisCounts
from alerts_saas.alerts.models import Firing, GroupBy
from alerts_saas.ingest.models import IngestKey
from tests.ingest_key_uses import absence

pytestmark = pytest.mark.django_db

PAYMENT = {"app": "checkout", "message": "Payment accepted"}


def _page(client, key: IngestKey) -> str:
    response = client.get(f"/o/{key.organization.slug}/settings/ingest-keys/{key.pk}/revoke/")
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", response.content.decode())))


def test_alerts_that_count_nothing_or_fire_already_are_not_blamed_on_the_revoke(
    org, admin_client, api, post_events
) -> None:
    key, secret = IngestKey.issue(org, "web servers")
    payments = absence(org, "Payments flowing", 10, match_app="checkout")
    refunds = absence(org, "Refunds flowing", 10, match_message="refund")  # no event matches
    hosts = absence(org, "Refund hosts", 10, match_message="refund", group_by=GroupBy.SOURCE)
    stuck = absence(org, "Cron heartbeat", 10, match_app="cron")
    Firing.objects.create(organization=org, alert=stuck, count_at_open=0)
    assert post_events([PAYMENT] * 3, secret=secret).status_code == 202

    page = _page(admin_client, key)
    assert (
        "came with this key. Once the key is revoked, those events stop, and it fires within "
        "its window unless they come in with another key by then: Payments flowing (fewer "
        "than 1 matching event in 10 minutes): fires within 10 minutes." in page
    ), page
    assert (
        "Absence alerts the revoke does not set off Cron heartbeat (fewer than 1 matching "
        "event in 10 minutes): already firing. Refund hosts (fewer than 1 matching event in "
        "10 minutes): counts no events now: revoking this key changes nothing for it. Refunds "
        "flowing (fewer than 1 matching event in 10 minutes): counts no events now: it will "
        "fire whether or not you revoke." in page
    ), page
    assert "Refunds flowing (fewer than 1 matching event in 10 minutes): fires within" not in page
    assert "To keep it quiet" in page  # the one it sets off

    def named(*alerts) -> list[dict[str, object]]:
        return [{"id": a.pk, "name": a.name, "window_minutes": 10} for a in alerts]

    answer = api.post(f"/ingest-keys/{key.pk}/revoke", status=200).json()
    assert answer["absence_alerts_set_off"] == {
        "will_fire": named(payments),
        "may_fire": [],
        "already_firing": named(stuck),
        "counting_nothing": named(hosts, refunds),
    }


def test_counts_lost_to_a_restart_within_the_window_are_not_taken_for_none(
    org, admin_client, post_events
) -> None:
    key, secret = IngestKey.issue(org, "web servers")
    absence(org, "Refunds flowing", 10, match_message="refund")
    assert post_events([PAYMENT], secret=secret).status_code == 202
    store = counts()
    assert isinstance(store, RedisCounts)
    store.client.set(EPOCH_KEY, str(time.time() - 60))  # counting again for a minute only

    page = _page(admin_client, key)
    assert "Refunds flowing (fewer than 1 matching event in 10 minutes): fires within" in page
    assert "counts no events now" not in page
