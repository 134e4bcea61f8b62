"""Settings → Activity: owners and admins read their own organization's log, newest first,
filtered and paged; entries past retention are pruned by beat."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts_saas.accounts.models import Organization, Role
from alerts_saas.alerts.models import Alert
from alerts_saas.audit import query
from alerts_saas.audit.context import acting
from alerts_saas.audit.models import Action, ActorKind, Entry
from alerts_saas.audit.retention import prune_entries
from alerts_saas.audit.tasks import prune_entries as prune_task

pytestmark = pytest.mark.django_db


def url(org: Organization) -> str:
    return f"/o/{org.slug}/settings/activity/"


def entry(org: Organization, n: int, **fields: object) -> Entry:
    values: dict[str, object] = {
        "organization": org,
        "actor_kind": ActorKind.USER,
        "actor_label": "owner@acme.example",
        "object_type": "alert",
        "object_id": str(n),
        "object_name": f"Alert {n:03d}",
        "action": Action.CHANGED,
        "changes": [{"field": "threshold", "before": str(n), "after": str(n + 1)}],
        **fields,
    }
    return Entry.objects.create(**values)


def names(response) -> list[str]:
    text = response if isinstance(response, str) else response.content.decode()
    return re.findall(r"alert “(Alert \d+)”", text)


def test_an_admin_reads_it_a_member_is_told_why_not_another_organization_gets_404(
    org, add_member, make_org, client
):
    with acting(user=org.memberships.get().user):
        Alert.objects.create(organization=org, name="Checkout errors", match_app="checkout")
    admin = add_member(org, "admin@acme.example", Role.ADMIN)
    member = add_member(org, "member@acme.example", Role.MEMBER)
    other = make_org("Globex")

    client.force_login(admin.user)
    response = client.get(url(org))
    assert response.status_code == 200
    page = response.content.decode()
    assert "owner@acme.example</strong> created alert “Checkout errors”" in page
    assert f'href="{url(org)}"' in page  # in the Settings menu and tabs

    client.force_login(member.user)
    response = client.get(url(org))
    assert response.status_code == 403
    assert "This needs the admin role in Acme Ops." in response.content.decode()
    assert url(org) not in client.get(f"/o/{org.slug}/settings/").content.decode()

    client.force_login(other.memberships.get().user)
    assert client.get(url(org)).status_code == 404
    # Their own log does not show ours.
    response = client.get(url(other))
    assert response.status_code == 200
    assert "Checkout errors" not in response.content.decode()


def test_newest_first_fifty_a_page(admin_client, org):
    Entry.objects.all().delete()
    start = timezone.now() - timedelta(hours=2)
    for n in range(60):
        entry(org, n, created_at=start + timedelta(minutes=n))
    first = admin_client.get(url(org))
    assert names(first)[:2] == ["Alert 059", "Alert 058"]
    assert len(names(first)) == 50
    assert "Page 1 of 2" in first.content.decode()
    assert "of 60" in first.content.decode()
    second = admin_client.get(url(org), {"page": 2})
    assert names(second) == [f"Alert {n:03d}" for n in range(9, -1, -1)]
    # A page past the end shows the last one.
    assert names(admin_client.get(url(org), {"page": 99})) == names(second)


def test_filters_by_who_what_action_and_dates_and_keep_them_across_pages(
    admin_client, org, add_member
):
    Entry.objects.all().delete()
    bob = add_member(org, "bob@acme.example", Role.ADMIN).user
    Entry.objects.all().delete()
    now = timezone.now()
    owner = org.memberships.get(role=Role.OWNER).user
    for n in range(55):
        entry(org, n, actor_user=owner, created_at=now - timedelta(minutes=n))
    entry(org, 100, actor_user=bob, actor_label=bob.email, action=Action.DISABLED)
    entry(org, 101, actor_kind=ActorKind.SYSTEM, actor_label="system", object_type="member")
    entry(org, 102, actor_user=owner, created_at=now - timedelta(days=3))

    def shown(**params: object) -> list[str]:
        return names(admin_client.get(url(org), params))

    assert shown(who=f"user:{bob.pk}") == ["Alert 100"]
    assert shown(action="disabled") == ["Alert 100"]
    system = admin_client.get(url(org), {"who": "system"}).content.decode()
    assert "system</strong> changed member “Alert 101”" in system and names(system) == []
    assert "member “Alert 101”" in admin_client.get(url(org), {"kind": "member"}).content.decode()
    day = (now - timedelta(days=3)).date().isoformat()
    assert shown(since=day, until=day) == ["Alert 102"]

    # Paging keeps the filter.
    page = admin_client.get(url(org), {"who": f"user:{owner.pk}", "kind": "alert"})
    text = page.content.decode()
    assert "of 56" in text
    link = re.search(r'href="([^"]*page=2[^"]*)"', text).group(1).replace("&amp;", "&")
    assert f"who=user%3A{owner.pk}" in link and "kind=alert" in link
    assert names(admin_client.get(url(org) + link)) == [f"Alert {n:03d}" for n in range(50, 55)] + [
        "Alert 102"
    ]

    # A filter that makes no sense is said so, and nothing is listed until it is fixed.
    response = admin_client.get(url(org), {"since": day, "until": "2000-01-01"})
    assert "The end date is before the start date" in response.content.decode()
    response = admin_client.get(url(org), {"who": "user:999999", "action": "disabled"})
    assert "Select a valid choice" in response.content.decode()
    assert names(response) == []


def test_nothing_matching_says_so(admin_client, org):
    response = admin_client.get(url(org), {"action": "revoked"})
    assert "Nothing matches these filters." in response.content.decode()


def test_the_page_costs_the_same_few_queries_however_many_entries(
    admin_client, org, django_assert_max_num_queries
):
    for n in range(5):
        entry(org, n)
    with django_assert_max_num_queries(12) as few:
        admin_client.get(url(org))
    for n in range(5, 120):
        entry(org, n)
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(url(org))


def test_entries_past_retention_are_pruned_in_capped_batches(org, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    now = timezone.now()
    old = [entry(org, n, created_at=now - timedelta(days=31, minutes=n)) for n in range(7)]
    kept = entry(org, 100, created_at=now - timedelta(days=29))

    result = prune_entries(batch_size=2, max_batches=2)
    assert (result.deleted, result.batches, result.capped) == (4, 2, True)
    # The oldest go first.
    assert set(
        Entry.objects.filter(pk__in=[e.pk for e in old]).values_list("object_id", flat=True)
    ) == {
        "0",
        "1",
        "2",
    }
    assert prune_task() == 3
    assert not Entry.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert Entry.objects.filter(pk=kept.pk).exists()


def test_beat_prunes_the_audit_log():
    from django.conf import settings

    entry_ = settings.CELERY_BEAT_SCHEDULE["audit-prune-entries"]
    assert entry_["task"] == "alerts_saas.audit.tasks.prune_entries"
    assert settings.AUDIT_RETENTION_DAYS == 365


def test_the_api_reads_the_same_entries(org, make_org):
    other = make_org("Globex")
    Entry.objects.all().delete()
    mine = entry(org, 1)
    entry(other, 2)
    assert list(query.entries(org)) == [mine]
    assert list(query.entries(org, query.Filters(kind="member"))) == []
