"""Two-factor secrets at rest: an authenticator app's key and the recovery codes' seed are
stored encrypted (settings.MFA_ADAPTER), the rows stored in clear before are encrypted by a
migration, key rotation re-encrypts them, and the admin never shows them. Throughout, the
person signs in with the same app and the same recovery codes."""

from __future__ import annotations

import importlib
import io
import json
import re
from collections.abc import Callable

import pytest
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from alerts_saas import crypto
from alerts_saas.accounts.models import User
from tests.two_factor import set_up_totp, sign_in_with_password, totp_code

pytestmark = pytest.mark.django_db

AUTHENTICATE = "/accounts/2fa/authenticate/"
CLEAR_SEED = re.compile(r"[0-9a-f]{80}")  # allauth's recovery seed: 40 random bytes in hex
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def stored(user: User) -> dict[str, str]:
    """Each of the user's authenticators' `data` as the database holds it (type: JSON text)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, data::text FROM mfa_authenticator WHERE user_id = %s", [user.pk]
        )
        return dict(cursor.fetchall())


def store_in_clear(user: User) -> None:
    """Write the user's secrets in clear, as they were stored before MFA_ADAPTER."""
    for row in Authenticator.objects.filter(user=user):
        key = "secret" if row.type == Authenticator.Type.TOTP else "seed"
        row.data[key] = crypto.decrypt(row.data[key])
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE mfa_authenticator SET data = %s::jsonb WHERE id = %s",
                [json.dumps(row.data), row.pk],
            )


def signs_in_with_app_and_recovery_code(client: Client, user: User, secret: str, code: str) -> None:
    for typed in (totp_code(secret), code):
        client.post("/accounts/logout/")
        assert sign_in_with_password(client, user.email) == AUTHENTICATE
        assert client.post(AUTHENTICATE, {"code": typed})["Location"] == "/", typed
        assert client.get("/profile/").status_code == 200


def test_the_app_key_and_recovery_seed_are_stored_encrypted(
    client: Client, make_user: Callable[..., User]
) -> None:
    user = make_user("pat@example.com")
    sign_in_with_password(client, user.email)
    secret, codes = set_up_totp(client)

    rows = stored(user)
    assert secret not in rows["totp"]
    assert not CLEAR_SEED.search(rows["recovery_codes"])
    assert crypto.decrypt(json.loads(rows["totp"])["secret"]) == secret
    signs_in_with_app_and_recovery_code(client, user, secret, codes[0])


def test_the_migration_encrypts_secrets_stored_in_clear_and_sign_in_still_works(
    client: Client, make_user: Callable[..., User]
) -> None:
    migration = importlib.import_module(
        "alerts_saas.accounts.migrations.0006_encrypt_two_factor_secrets"
    )
    user = make_user("pat@example.com")
    sign_in_with_password(client, user.email)
    secret, codes = set_up_totp(client)
    store_in_clear(user)
    assert secret in stored(user)["totp"]  # as the database held it before the upgrade

    migration.encrypt_secrets(apps, None)
    encrypted = stored(user)
    assert secret not in encrypted["totp"]
    assert not CLEAR_SEED.search(encrypted["recovery_codes"])
    migration.encrypt_secrets(apps, None)  # run again: encrypted once, not twice
    assert stored(user) == encrypted
    signs_in_with_app_and_recovery_code(client, user, secret, codes[0])

    # Going back leaves them as the code before it reads them; forward again works.
    migration.decrypt_secrets(apps, None)
    assert secret in stored(user)["totp"]
    migration.encrypt_secrets(apps, None)
    assert secret not in stored(user)["totp"]
    cache.clear()  # forget that the app's code of this half minute was used above
    signs_in_with_app_and_recovery_code(client, user, secret, codes[1])


def test_key_rotation_keeps_two_factor_sign_in_working_without_the_old_key(
    client: Client, make_user: Callable[..., User]
) -> None:
    user = make_user("pat@example.com")
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD]):
        sign_in_with_password(client, user.email)
        secret, codes = set_up_totp(client)
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW, OLD]):
        said = io.StringIO()
        call_command("rotate_encryption_keys", stdout=said)
        assert "(two-factor secrets): 2 re-encrypted" in said.getvalue()
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW]):
        assert crypto.decrypt(json.loads(stored(user)["totp"])["secret"]) == secret
        signs_in_with_app_and_recovery_code(client, user, secret, codes[0])


def test_the_admin_never_shows_or_edits_two_factor_secrets(
    client: Client, make_user: Callable[..., User]
) -> None:
    user = make_user("pat@example.com")
    sign_in_with_password(client, user.email)
    secret, _codes = set_up_totp(client)
    staff = make_user("staff@tripwire.example")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    admin = Client()
    admin.force_login(staff)

    listing = admin.get("/admin/mfa/authenticator/")
    assert listing.status_code == 200 and "pat@example.com" in listing.content.decode()
    for row in Authenticator.objects.filter(user=user):
        page = admin.get(f"/admin/mfa/authenticator/{row.pk}/change/")
        assert page.status_code == 200
        body = page.content.decode()
        assert "pat@example.com" in body  # whose it is, and of which type, stay visible
        assert secret not in body and not CLEAR_SEED.search(body)
        assert 'name="data"' not in body
        stored_secret = row.data.get("secret") or row.data["seed"]
        assert stored_secret not in body  # not even encrypted
    assert admin.get("/admin/mfa/authenticator/add/").status_code == 403
