"""API tokens: Settings → API tokens (owners and admins), the secret shown once and kept
hashed; who may call what (401 for a revoked token, 403 for a read token that writes), the
last use, and each token's requests per minute (429)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from alerts_saas.accounts.models import Role
from alerts_saas.alerts.models import Alert
from alerts_saas.api import auth
from alerts_saas.ingest import limits
from alerts_saas.ingest.models import TOKEN_PREFIX, ApiToken, Scope, hash_key
from tests.api.conftest import alert_body
from tests.api_client import Api

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'id="new-token-secret" value="(twa_[A-Za-z0-9_-]+)"')


def page(org, suffix: str = "") -> str:
    return f"/o/{org.slug}/settings/api-tokens/{suffix}"


def test_a_token_made_on_settings_is_shown_once_kept_hashed_and_works(admin_client, org):
    empty = admin_client.get(page(org)).content.decode()
    assert "No API tokens yet." in empty
    made = admin_client.post(page(org, "create/"), {"name": "terraform", "scope": "write"})
    token = ApiToken.objects.get()
    assert made.status_code == 302 and made["Location"] == page(org, f"?created={token.pk}")
    response = admin_client.get(made["Location"])
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    body = html.unescape(response.content.decode())
    assert "Copy this token now — it won't be shown again" in body
    assert "It can read and change Acme Ops" in body
    secret = SECRET.search(body).group(1)
    assert secret.startswith(TOKEN_PREFIX)
    assert f'curl http://testserver/api/v1/alerts -H "Authorization: Bearer {secret}"' in body

    assert token.key_hash == hash_key(secret) and token.scope == Scope.WRITE
    assert token.created_by == org.memberships.get(role=Role.OWNER).user
    with connection.cursor() as cursor:
        for table in ("ingest_apitoken", "django_session"):  # the session kept it encrypted
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 (our own table names)
            assert secret not in repr(cursor.fetchall())
    later = admin_client.get(page(org)).content.decode()
    assert secret not in later and "Never used" in later and "Read and write" in later

    assert Api(secret).get("/alerts", status=200).json()["count"] == 0
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert "Never used" not in admin_client.get(page(org)).content.decode()
    # The same name twice is refused while the first is active.
    again = admin_client.post(page(org, "create/"), {"name": "Terraform", "scope": "read"})
    assert again.status_code == 400
    assert "An active token named “Terraform” already exists." in html.unescape(
        again.content.decode()
    )


def test_a_reload_after_making_a_token_shows_the_list_and_a_calm_note(admin_client, org):
    """The browser reloads the page the secret was shown on (or goes back, then forward):
    the list again, with a note that the secret was shown once, never an error, a second
    token or the secret again."""
    made = admin_client.post(page(org, "create/"), {"name": "terraform", "scope": "read"})
    assert made.status_code == 302
    first = html.unescape(admin_client.get(made["Location"]).content.decode())
    secret = SECRET.search(first).group(1)
    assert "token-shown-once" not in first

    for _ in range(2):
        reload = admin_client.get(made["Location"])
        assert reload.status_code == 200 and "no-store" in reload["Cache-Control"]
        body = html.unescape(reload.content.decode())
        assert secret not in body and "Copy this token now" not in body
        assert (
            "The token “terraform” was created, and its secret was shown once, when you "
            "created it. We keep only a fingerprint of it, so it can't be shown again. If you "
            "didn't copy it, revoke “terraform” below and create another."
        ) in body
        assert "was not created" not in body and "already exists" not in body
    assert ApiToken.objects.count() == 1
    # The form's own address, opened again (an old tab): the list, not 405.
    assert admin_client.get(page(org, "create/"))["Location"] == page(org)
    # The plain list has no note.
    assert "token-shown-once" not in admin_client.get(page(org)).content.decode()


def test_a_token_made_elsewhere_is_neither_shown_nor_named(admin_client, org, make_org):
    """Another organization's token id in the address names nothing, even for a person who
    made it there and has its secret waiting in their session."""
    owner = org.memberships.get(role=Role.OWNER).user
    other = make_org("Globex", owner=owner)
    made = admin_client.post(page(other, "create/"), {"name": "globex-ci", "scope": "read"})
    elsewhere = page(org, made["Location"].rpartition("/")[2])
    body = html.unescape(admin_client.get(elsewhere).content.decode())
    assert "globex-ci" not in body and not SECRET.search(body)
    assert SECRET.search(admin_client.get(made["Location"]).content.decode())


def test_members_cannot_see_or_make_tokens(org, add_member, client):
    member = add_member(org, "member@acme.example", Role.MEMBER).user
    client.force_login(member)
    assert client.get(page(org)).status_code == 403
    assert client.post(page(org, "create/"), {"name": "x", "scope": "write"}).status_code == 403
    assert not ApiToken.objects.exists()
    settings_page = client.get(f"/o/{org.slug}/settings/ingest-keys/").content.decode()
    assert "API tokens" not in settings_page


def test_revoking_on_settings_stops_the_token_at_once(admin_client, org, service):
    token, secret = ApiToken.issue(org, "ci", scope=Scope.WRITE)
    confirm = admin_client.get(page(org, f"{token.pk}/revoke/")).content.decode()
    assert "Revoke “ci”?" in html.unescape(confirm)
    admin_client.post(page(org, f"{token.pk}/revoke/"))
    refused = Api(secret).get("/alerts", status=401).json()
    assert refused["message"].startswith("This API token (“ci”) was revoked on ")
    assert "Revoked" in admin_client.get(page(org)).content.decode()


def test_no_token_or_a_wrong_one_is_401_in_words():
    anonymous = Api("")
    missing = anonymous.get("/alerts", status=401)
    assert missing["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer <token>" in missing.json()["message"]
    wrong = Api("twa_not-a-token").get("/alerts", status=401)
    assert wrong.json()["message"].startswith("This API token is not valid.")
    # An ingest key is not an API token, nor the other way round.
    assert Api("twk_abc").get("/services", status=401)


def test_a_read_token_reads_but_cannot_change_anything(reader, api, service, org):
    alert_id = api.post("/alerts", alert_body(service), status=201).json()["id"]
    assert reader.get(f"/alerts/{alert_id}", status=200)
    for method, path, body in (
        ("POST", "/alerts", alert_body(service, name="New")),
        ("PUT", f"/alerts/{alert_id}", alert_body(service, name="Changed")),
        ("PATCH", f"/alerts/{alert_id}", {"name": "Changed"}),
        ("DELETE", f"/alerts/{alert_id}", None),
        ("POST", f"/alerts/{alert_id}/disable", None),
        ("POST", "/ingest-keys", {"name": "web"}),
    ):
        refused = reader.call(method, path, body, status=403).json()
        assert refused["message"] == (
            "This API token (“tool read”) can only read. To make changes, use a token with "
            "read and write access (Settings → API tokens)."
        )
    alert = Alert.objects.get()
    assert alert.name == "Checkout errors" and alert.enabled
    assert not org.ingest_keys.exists()


def test_use_is_recorded_at_most_once_a_minute(api, org, django_assert_num_queries):
    token = ApiToken.objects.get(organization=org)
    api.get("/services", status=200)
    token.refresh_from_db()
    first = token.last_used_at
    api.get("/services", status=200)
    token.refresh_from_db()
    assert token.last_used_at == first  # not written again within the minute
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(seconds=61))
    api.get("/services", status=200)
    token.refresh_from_db()
    assert token.last_used_at > first - timedelta(seconds=1)
    assert token.last_used_at <= timezone.now()


def test_over_its_requests_per_minute_a_token_gets_429_with_retry_after(
    make_api, settings, service
):
    settings.API_REQUESTS_PER_MINUTE = 3
    busy, calm = make_api(Scope.WRITE), make_api(Scope.READ)
    for _ in range(3):
        busy.get("/services", status=200)
    refused = busy.post("/alerts", alert_body(service), status=429)
    seconds = int(refused["Retry-After"])
    assert 1 <= seconds <= 60
    assert refused.json()["message"] == (
        "This API token made more than 3 requests in the last minute. Nothing was done; "
        f"send this request again in {seconds} s (Retry-After)."
    )
    assert not Alert.objects.exists()
    calm.get("/services", status=200)  # the limit is each token's own


def test_without_redis_the_limit_holds_per_process(make_api, settings):
    settings.REDIS_URL = ""
    settings.API_REQUESTS_PER_MINUTE = 2
    limits.allowance.cache_clear()
    try:
        api = make_api(Scope.READ)
        api.get("/services", status=200)
        api.get("/services", status=200)
        api.get("/services", status=429)
    finally:
        limits.allowance.cache_clear()


def test_the_request_carries_its_token_for_the_audit_log(api, org, monkeypatch):
    seen = []
    original = auth.ApiTokenAuth.authenticate

    def spy(self, request, token):
        found = original(self, request, token)
        seen.append(request.api_token)
        return found

    monkeypatch.setattr(auth.ApiTokenAuth, "authenticate", spy)
    api.get("/alerts", status=200)
    assert seen == [ApiToken.objects.get(organization=org)]


def test_the_docs_describe_tokens_and_every_operation(org):
    document = Client().get("/api/v1/openapi.json").json()
    assert document["components"]["securitySchemes"]["ApiTokenAuth"]["scheme"] == "bearer"
    assert "Settings → API tokens" in document["info"]["description"]
    operations = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if "ApiTokenAuth" in str(item[method].get("security"))
    }
    assert len(operations) == 24
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if (method, path) in operations:
                assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
