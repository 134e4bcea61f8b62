"""Settings / Ingest keys: creating (the secret shown once), listing, revoking, and who may."""

from __future__ import annotations

import html
import re

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from alerts_saas.accounts.models import Role
from alerts_saas.ingest.models import KEY_PREFIX, IngestKey, hash_key

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'id="new-key-secret" value="(twk_[A-Za-z0-9_-]+)"')


@pytest.fixture
def owner(org):
    return org.memberships.get(role=Role.OWNER).user


@pytest.fixture
def owner_client(admin_client):
    """Signed in as the organization's owner (the shared `admin_client`)."""
    return admin_client


def url(org, suffix: str = "") -> str:
    return f"/o/{org.slug}/settings/ingest-keys/{suffix}"


def create(client, org, name: str = "web servers"):
    return client.post(url(org, "create/"), {"name": name})


def create_and_show(client, org, name: str = "web servers"):
    """Create a key and follow the redirect to the page that shows its secret."""
    made = create(client, org, name)
    assert made.status_code == 302, made.status_code
    return client.get(made["Location"])


def test_the_empty_page_says_what_a_key_is_for_and_offers_the_form(owner_client, org):
    response = owner_client.get(url(org))
    body = response.content.decode()
    assert response.status_code == 200
    assert "No ingest keys yet." in body
    assert "lets your systems send events" in body
    assert 'action="/o/acme-ops/settings/ingest-keys/create/"' in body
    assert "/api/v1/docs" in body


def test_a_new_key_is_shown_once_with_a_curl_example(owner_client, org, owner):
    made = create(owner_client, org)
    key = IngestKey.objects.get()
    assert made.status_code == 302 and made["Location"] == url(org, f"?created={key.pk}")
    response = owner_client.get(made["Location"])
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert "Copy this key now — it won't be shown again" in html.unescape(body)
    secret = SECRET.search(body).group(1)
    assert secret.startswith(KEY_PREFIX)

    assert key.organization == org
    assert key.name == "web servers"
    assert key.created_by == owner
    assert key.key_hash == hash_key(secret)
    assert secret.startswith(key.hint)
    assert not key.is_revoked and key.last_used_at is None

    curl = (
        f'curl -X POST http://testserver/api/v1/events -H "Authorization: Bearer {secret}" '
        '-H "Content-Type: application/json" '
        '-d \'[{"app":"tripwire-example","level":"info",'
        '"message":"Sent from the ingest keys page to try an ingest key"}]\''
    )
    assert curl in html.unescape(body)
    assert 'href="/api/v1/docs"' in body

    # Nowhere else: not in the database (the session kept it encrypted until shown, then
    # dropped it), not in the session, not on the list afterwards.
    with connection.cursor() as cursor:
        for table in ("ingest_ingestkey", "django_session"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (our own table names)
            assert secret not in repr(cursor.fetchall())
    assert secret not in repr(dict(owner_client.session))
    later = owner_client.get(url(org)).content.decode()
    assert secret not in later
    assert "it won't be shown again" not in html.unescape(later)
    assert f"{key.hint}…" in later
    assert "Never used" in later
    assert "Active" in later
    # When, then by whom: on a phone the cell reads "Created: 1 Dec 2026 by Olivia", not
    # "Created: Olivia 1 Dec 2026".
    made_on = key.created_at.strftime("%-d %b %Y")
    by = rf"{made_on}</time>\s*<br><span class=\"muted\">by {owner.display_name}"
    assert re.search(by, later)


def test_a_reload_after_making_a_key_shows_the_list_and_a_calm_note(
    owner_client, org, client, add_member
):
    """The browser reloads the page the secret was shown on (or goes back, then forward):
    the list again, with a note that the secret was shown once; never an error, a second key
    or the secret again."""
    made = create(owner_client, org)
    first = html.unescape(owner_client.get(made["Location"]).content.decode())
    secret = SECRET.search(first).group(1)
    assert "key-shown-once" not in first

    for _ in range(2):
        reload = owner_client.get(made["Location"])
        assert reload.status_code == 200 and "no-store" in reload["Cache-Control"]
        body = html.unescape(reload.content.decode())
        assert secret not in body and "Copy this key now" not in body
        assert (
            "The key “web servers” was created, and its secret was shown once, when you "
            "created it. We keep only a fingerprint of it, so it can't be shown again. If you "
            "didn't copy it, revoke “web servers” below and create another."
        ) in body
        assert "was not created" not in body and "already exists" not in body
    assert IngestKey.objects.count() == 1
    assert "key-shown-once" not in owner_client.get(url(org)).content.decode()
    # A member sent the address: the list, without a note that tells them to revoke.
    client.force_login(add_member(org, "member@acme.example").user)
    assert "key-shown-once" not in client.get(made["Location"]).content.decode()


def test_a_key_made_elsewhere_is_neither_shown_nor_named(owner_client, org, owner, make_org):
    """Another organization's key id in the address names nothing, even for a person who
    made it there and has its secret waiting in their session."""
    other = make_org("Globex", owner=owner)
    made = create(owner_client, other, "globex edge")
    elsewhere = url(org, made["Location"].rpartition("/")[2])
    body = html.unescape(owner_client.get(elsewhere).content.decode())
    assert "globex edge" not in body and not SECRET.search(body)
    assert SECRET.search(owner_client.get(made["Location"]).content.decode())


def test_a_secret_kept_under_a_retired_encryption_key_reads_as_shown(owner_client, org, settings):
    """The encryption keys rotated between the POST and its page: the calm note, not a 500."""
    made = create(owner_client, org)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response = owner_client.get(made["Location"])
    assert response.status_code == 200 and not SECRET.search(response.content.decode())
    assert "its secret was shown once" in html.unescape(response.content.decode())


def test_posting_the_same_form_again_is_refused_not_a_second_key(owner_client, org):
    create(owner_client, org)
    response = create(owner_client, org, "Web Servers")
    body = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert "An active key named “Web Servers” already exists." in body
    assert "The key was not created." in body
    assert not SECRET.search(response.content.decode())
    assert IngestKey.objects.count() == 1


def test_a_revoked_keys_name_can_be_used_again(owner_client, org, owner):
    old, _ = IngestKey.issue(org, "web servers", owner)
    old.revoke(owner)
    assert create(owner_client, org).status_code == 302
    assert IngestKey.objects.filter(name="web servers").count() == 2


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "Give the key a name"),
        ("   ", "Give the key a name"),
        ("x" * 101, "A key name can be at most 100 characters; this one has 101."),
    ],
)
def test_invalid_names_are_explained_and_nothing_is_saved(owner_client, org, name, error):
    response = create(owner_client, org, name)
    body = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert error in body
    assert "The key was not created." in body
    assert "it won't be shown again" not in body
    assert not IngestKey.objects.exists()


def test_the_list_shows_who_made_each_key_and_when_it_was_last_used(owner_client, org, owner):
    from django.utils import timezone

    used, _ = IngestKey.issue(org, "billing worker", owner)
    IngestKey.objects.filter(pk=used.pk).update(
        last_used_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    body = html.unescape(owner_client.get(url(org)).content.decode())
    assert "billing worker" in body
    assert f"{used.hint}…" in body
    assert owner.display_name in body
    assert "5\xa0minutes ago" in body


def test_revoking_asks_first_then_records_who_and_when(owner_client, org, owner):
    key, _ = IngestKey.issue(org, "web servers", owner)
    page = html.unescape(owner_client.get(url(org, f"{key.pk}/revoke/")).content.decode())
    assert "Revoke “web servers”?" in page
    assert "systems sending with this key will get 403 Forbidden at once" in page
    key.refresh_from_db()
    assert not key.is_revoked  # the GET changed nothing

    response = owner_client.post(url(org, f"{key.pk}/revoke/"), follow=True)
    assert response.redirect_chain[-1][0] == url(org)
    body = html.unescape(response.content.decode())
    assert "The key “web servers” was revoked." in body
    key.refresh_from_db()
    assert key.is_revoked and key.revoked_by == owner
    revoked_at = f'<time datetime="{key.revoked_at:%Y-%m-%dT%H:%M:%SZ}"'
    assert f"Revoked on {revoked_at}" in body
    assert f">{key.revoked_at:%-d %b %Y}</time> by {owner.display_name}" in body
    assert "Every key is revoked" in body


def test_revoking_twice_is_harmless(owner_client, org, owner, add_member):
    key, _ = IngestKey.issue(org, "web servers", owner)
    key.revoke(owner)
    first = IngestKey.objects.get(pk=key.pk).revoked_at
    admin = add_member(org, "admin@acme.example", Role.ADMIN).user
    owner_client.force_login(admin)
    page = owner_client.get(url(org, f"{key.pk}/revoke/")).content.decode()
    assert "is already revoked" in html.unescape(page)
    response = owner_client.post(url(org, f"{key.pk}/revoke/"), follow=True)
    assert "was already revoked" in html.unescape(response.content.decode())
    key.refresh_from_db()
    assert key.revoked_at == first and key.revoked_by == owner


def test_members_see_the_keys_but_may_not_create_or_revoke(client, org, owner, add_member):
    key, _ = IngestKey.issue(org, "web servers", owner)
    member = add_member(org, "member@acme.example").user
    client.force_login(member)
    body = client.get(url(org)).content.decode()
    assert "web servers" in body
    assert "Create a key" not in body
    assert "/revoke/" not in body
    assert "Only owners and admins can create or revoke ingest keys." in body

    assert create(client, org, "sneaky").status_code == 403
    assert client.get(url(org, f"{key.pk}/revoke/")).status_code == 403
    assert client.post(url(org, f"{key.pk}/revoke/")).status_code == 403
    key.refresh_from_db()
    assert not key.is_revoked
    assert IngestKey.objects.count() == 1


def test_members_see_the_empty_state_without_the_form(client, org, add_member):
    client.force_login(add_member(org, "member@acme.example").user)
    body = client.get(url(org)).content.decode()
    assert "No ingest keys yet." in body
    assert "Ask an owner or admin of Acme Ops to create one: owner@acme.example (owner)." in body
    assert "Create a key" not in body


def test_admins_may_create_and_revoke(client, org, add_member):
    admin = add_member(org, "admin@acme.example", Role.ADMIN).user
    client.force_login(admin)
    assert create(client, org).status_code == 302
    key = IngestKey.objects.get()
    client.post(url(org, f"{key.pk}/revoke/"))
    key.refresh_from_db()
    assert key.revoked_by == admin


def test_another_organizations_key_is_not_found(owner_client, org, make_org, make_user):
    other_owner = make_user("owner@other.example")
    other = make_org("Other", owner=other_owner)
    theirs, _ = IngestKey.issue(other, "their key", other_owner)
    assert owner_client.get(url(org, f"{theirs.pk}/revoke/")).status_code == 404
    assert owner_client.post(url(org, f"{theirs.pk}/revoke/")).status_code == 404
    assert owner_client.get(url(other)).status_code == 404
    assert create(owner_client, other).status_code == 404
    theirs.refresh_from_db()
    assert not theirs.is_revoked
    assert "their key" not in owner_client.get(url(org)).content.decode()


def test_the_forms_address_opened_again_leads_to_the_list(owner_client, org):
    """An old tab or a bookmark of the create address: the list (where the form is), not 405."""
    response = owner_client.get(url(org, "create/"))
    assert response.status_code == 302 and response["Location"] == url(org)
    assert not IngestKey.objects.exists()


def test_the_settings_menu_links_to_ingest_keys(owner_client, org):
    body = owner_client.get(f"/o/{org.slug}/settings/members/").content.decode()
    assert f'href="{url(org)}"' in body
    assert "Ingest keys" in body


def test_the_secret_is_never_logged(owner_client, org, caplog):
    caplog.set_level("DEBUG")
    response = create_and_show(owner_client, org)
    secret = SECRET.search(response.content.decode()).group(1)
    assert secret not in caplog.text


def test_create_and_revoke_need_the_csrf_token(org, owner):
    from django.test import Client

    key, _ = IngestKey.issue(org, "web servers", owner)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.post(url(org, "create/"), {"name": "other"}).status_code == 403
    assert strict.post(url(org, f"{key.pk}/revoke/")).status_code == 403
    key.refresh_from_db()
    assert not key.is_revoked
    assert IngestKey.objects.count() == 1
