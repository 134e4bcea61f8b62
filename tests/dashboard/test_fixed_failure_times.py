""" "Since fixed … at <time>" on the dashboard's failed deliveries reads like the page's other
times: in the member's time zone, the date when it was not today there, and how long ago."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.dashboard.conftest import alert, delivery, refused, service

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def _item(page: str, pk: int) -> str:
    start = page.index(f'id="failure-{pk}"')
    return re.sub(
        r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page[start:].split("</li>")[0]))
    )


def _shown(moment: datetime) -> str:
    local, today = moment.astimezone(PARIS), timezone.now().astimezone(PARIS)
    if local.date() == today.date():
        return f"{local:%H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def test_fixed_at_is_in_the_members_zone_with_how_long_ago(dashboard, org) -> None:
    owner = org.memberships.get().user
    owner.time_zone = "Europe/Paris"
    owner.save()
    now = timezone.now()
    lately, long_ago = service(org, "Checkout API"), service(org, "Search API")
    made = alert(org, "Errors", lately, long_ago)
    first = refused(org, lately, made, now - timedelta(hours=3))
    fix = delivery(org, lately, status="delivered", at=now - timedelta(hours=2, minutes=1))
    second = refused(org, long_ago, made, now - timedelta(hours=23, minutes=50))
    old_fix = delivery(org, long_ago, status="delivered", at=now - timedelta(hours=23, minutes=40))

    page = dashboard()
    assert f"a later one got through at {_shown(fix.created_at)} (2 hours, 1 minute ago)." in _item(
        page, first.pk
    )
    assert (
        f"a later one got through at {_shown(old_fix.created_at)} (23 hours, 40 minutes ago)."
        in _item(page, second.pk)
    )
