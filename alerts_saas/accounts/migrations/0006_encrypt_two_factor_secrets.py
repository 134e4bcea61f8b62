"""Encrypt the two-factor secrets stored in clear before settings.MFA_ADAPTER did.

Each TOTP secret and recovery-code seed is encrypted in place with the newest key of
FIELD_ENCRYPTION_KEYS; the codes it gives stay the same, so a person signs in with the same
app and the same recovery codes afterwards. A value that already decrypts is left as it is,
so running it again changes nothing.

Reversible: going back decrypts them again, because the code before this migration reads
them as clear text (everyone's two-factor sign-in would fail otherwise). Going back writes
the secrets in clear again, as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography.fernet import InvalidToken
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from alerts_saas import crypto
from alerts_saas.accounts.mfa_adapter import SECRET_KEYS, map_secrets


def _is_encrypted(value: str) -> bool:
    try:
        crypto.decrypt(value)
    except InvalidToken:
        return False
    return True


def _encrypt(value: str) -> str:
    return value if _is_encrypted(value) else crypto.encrypt(value)


def _decrypt(value: str) -> str:
    return crypto.decrypt(value) if _is_encrypted(value) else value


def _rewrite(apps: StateApps, change: Callable[[str], str]) -> None:
    authenticator = apps.get_model("mfa", "Authenticator")
    rows: list[Any] = list(
        authenticator.objects.select_for_update().filter(type__in=list(SECRET_KEYS))
    )
    for row in rows:
        row.data = map_secrets(row.type, row.data, change)
    authenticator.objects.bulk_update(rows, ["data"], batch_size=500)


def encrypt_secrets(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _rewrite(apps, _encrypt)


def decrypt_secrets(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _rewrite(apps, _decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_former_slug"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_secrets, decrypt_secrets)]
