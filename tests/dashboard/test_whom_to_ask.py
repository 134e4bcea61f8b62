"""A member is told whom to ask, by name, for what only an owner or admin can do: the
getting-started steps (an ingest key, PagerDuty, the team), the Ingest keys page, and the
403 page of an admin's page (API tokens, Activity, making an ingest key), which keeps the
organization's navigation and leads back to its home. The names are read in one query a
page."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Membership, Organization, Role
from tests.dashboard.conftest import alert, fire, service
from tests.dashboard.test_dashboard import part, text

pytestmark = pytest.mark.django_db

OWNER = "owner@acme.example (owner)"


@pytest.fixture
def member(org: Organization, add_member) -> Client:
    client = Client()
    client.force_login(add_member(org, "mia@acme.example").user)
    return client


def _admin(org: Organization, add_member, email: str, first: str = "", last: str = "") -> None:
    made: Membership = add_member(org, email, Role.ADMIN)
    made.user.first_name, made.user.last_name = first, last
    made.user.save()


def _step(page: str, key: str) -> str:
    found = re.search(rf'<li [^>]*data-step="{key}".*?</li>', page, re.S)
    assert found is not None, f"no step {key}"
    return found.group(0)


def _no_events(page: str) -> str:
    """The dashboard's "No events yet" paragraph, as HTML."""
    found = re.search(r'<p [^>]*id="no-events".*?</p>', page, re.S)
    assert found is not None, "no #no-events"
    return found.group(0)


def test_a_member_is_told_whom_to_ask_for_the_owners_steps(org, member, add_member):
    _admin(org, add_member, "ada@acme.example", "Ada", "Admin")
    page = member.get(f"/o/{org.slug}/").content.decode()
    named = f"{OWNER} or Ada Admin (admin)."
    key = _step(page, "ingest-key")
    assert "href=" not in key  # not a link to a button the member doesn't have
    assert f"Ask an owner or admin of Acme Ops to create an ingest key: {named}" in text(key)
    pagerduty = _step(page, "pagerduty")
    assert "href=" not in pagerduty
    assert f"Ask an owner or admin of Acme Ops to connect PagerDuty: {named}" in text(pagerduty)
    # What a member can do stays a link.
    assert f'href="/o/{org.slug}/alerts/new/"' in _step(page, "first-alert")
    team = part(page, "team-line")
    assert f"Ask an owner or admin of Acme Ops to invite your team: {named}" in team
    nothing = part(page, "no-broken-paths")
    assert f"Ask an owner or admin of Acme Ops to connect PagerDuty: {named}" in nothing
    assert "Invite your team." not in team
    no_events = _no_events(page)  # nothing sent yet: who makes the key
    assert f"Ask an owner or admin of Acme Ops to create one: {named}" in text(no_events)
    assert "href=" not in no_events


def test_an_owner_gets_the_links_and_no_names(org, admin_client):
    page = admin_client.get(f"/o/{org.slug}/").content.decode()
    assert f'href="/o/{org.slug}/settings/ingest-keys/"' in _step(page, "ingest-key")
    assert f'href="/o/{org.slug}/settings/integrations/"' in _step(page, "pagerduty")
    assert "Ask an owner or admin" not in part(page, "getting-started")
    assert "Ask an owner or admin" not in part(page, "no-broken-paths")
    assert f'href="/o/{org.slug}/settings/integrations/">Connect PagerDuty</a>' in page
    assert "Invite your team." in part(page, "team-line")
    assert f'href="/o/{org.slug}/settings/ingest-keys/"' in _no_events(page)


def test_many_owners_and_admins_name_three_and_count_the_rest(org, member, add_member):
    for n in range(5):
        _admin(org, add_member, f"admin{n}@acme.example", f"Admin{n}", "<b>")
    team = part(member.get(f"/o/{org.slug}/").content.decode(), "team-line")
    assert (
        f"invite your team: {OWNER}, Admin0 <b> (admin), Admin1 <b> (admin) "
        "or one of 3 more on the Members page." in team
    )


def test_names_are_escaped(org, member, add_member):
    _admin(org, add_member, "x@acme.example", "<script>alert(1)</script>")
    page = member.get(f"/o/{org.slug}/").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def _queries(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured]


def test_the_names_cost_one_query_however_many_admins_and_places(org, member, add_member):
    # A broken path a member can't mend: its advice names them too, from the same query.
    gone = service(org, "Billing EU", refused_at=timezone.now(), refused_detail="Invalid key")
    fire(alert(org, "Billing errors", gone))
    home = f"/o/{org.slug}/"
    member.get(home)  # the first page of an organization remembers it in the session
    few = _queries(member, home)
    page = member.get(home).content.decode()
    assert f"removed in PagerDuty): {OWNER}." in part(page, "broken-paths")
    assert f"create an ingest key: {OWNER}." in text(_step(page, "ingest-key"))
    for n in range(8):
        _admin(org, add_member, f"admin{n}@acme.example")
    many = _queries(member, home)
    assert len(many) == len(few), "\n".join(many)
    assert sum("\"role\" IN ('owner', 'admin')" in sql for sql in many) == 1, "\n".join(many)


def test_the_ingest_keys_page_names_them(org, member, add_member):
    _admin(org, add_member, "ada@acme.example", "Ada", "Admin")
    page = member.get(f"/o/{org.slug}/settings/ingest-keys/").content.decode()
    assert (
        f"Ask an owner or admin of Acme Ops to create one: {OWNER} or Ada Admin (admin)."
        in part(page, "ask-for-key")
    )


@pytest.mark.parametrize(
    "path", ["settings/api-tokens/", "settings/activity/", "settings/ingest-keys/create/"]
)
def test_a_members_403_keeps_the_organization_and_names_whom_to_ask(org, member, path):
    response = member.get(f"/o/{org.slug}/{path}")
    assert response.status_code == 403
    page = response.content.decode()
    assert "This needs the admin role in Acme Ops." in page
    assert (
        "Ask an owner or admin of Acme Ops to do it for you or to give you the admin role: "
        f"{OWNER}." in part(page, "whom-to-ask")
    )
    # The organization's header and navigation, and the way back to its home.
    header = page.split("</header>")[0]
    assert 'aria-label="Switch organization">Acme Ops</summary>' in header
    assert f'href="/o/{org.slug}/settings/members/"' in header
    assert f'<a href="/o/{org.slug}/">Back to Acme Ops</a>' in page
    assert "Go to your organizations" not in page
