"""Settings → Activity with filters that need fixing (r20): a date that is not one, or an
end before the start, used to list everything (or the other filters' entries) under
"Filter (filtered)", or "Nothing matches these filters." Now nothing is listed, the page
says what to fix, and it does not claim to be filtered."""

from __future__ import annotations

import re

import pytest

from alerts_saas.accounts.models import Organization
from alerts_saas.audit.models import Action, ActorKind, Entry

pytestmark = pytest.mark.django_db


def url(org: Organization) -> str:
    return f"/o/{org.slug}/settings/activity/"


@pytest.fixture
def logged(org: Organization) -> None:
    Entry.objects.filter(organization=org).delete()
    for n in range(3):
        Entry.objects.create(
            organization=org,
            actor_kind=ActorKind.USER,
            actor_label="owner@acme.example",
            object_type="alert",
            object_id=str(n),
            object_name=f"Alert {n}",
            action=Action.CHANGED,
        )


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_a_date_that_is_not_one_lists_nothing_and_says_what_to_fix(
    admin_client, org, logged
) -> None:
    response = admin_client.get(url(org), {"since": "garbage"})
    assert response.status_code == 200
    page = text(response)
    assert 'id="activity"' not in response.content.decode()
    assert "Alert 0" not in page
    assert "Nothing is listed: the filters need fixing." in page
    assert "From: Enter a date as year-month-day, such as 2026-03-31, or leave it empty." in page
    assert "(filtered)" not in page and "Filter (not applied)" in page
    assert "Nothing matches these filters." not in page


def test_an_end_before_the_start_says_so_and_lists_nothing(admin_client, org, logged) -> None:
    response = admin_client.get(url(org), {"since": "2000-01-02", "until": "2000-01-01"})
    page = text(response)
    assert "To: The end date is before the start date: pick a “To” date on or after" in page
    assert "Nothing matches these filters." not in page
    assert "(filtered)" not in page
    # Not the start date alone either: every entry here is after 2000-01-02.
    assert "Alert 0" not in page and 'id="activity"' not in response.content.decode()


def test_valid_filters_still_list_and_say_filtered(admin_client, org, logged) -> None:
    """Guard: the ordinary filtered page is unchanged."""
    page = text(admin_client.get(url(org), {"since": "2000-01-01", "action": "changed"}))
    assert "Filter (filtered)" in page and "Alert 2" in page
    assert "need fixing" not in page
