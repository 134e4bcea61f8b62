"""Re-encrypt every encrypted field, and the two-factor secrets, with the newest key in
FIELD_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import Field

from alerts_saas.accounts.mfa_adapter import SECRET_KEYS, map_secrets
from alerts_saas.crypto import EncryptedTextField, rotate


def _quoted_column(field: Field[Any, Any] | None) -> str:
    """The quoted column of a concrete field (which always has one)."""
    assert field is not None and field.column is not None
    return connection.ops.quote_name(field.column)


class Command(BaseCommand):
    help = "Re-encrypt secrets at rest with the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            pk = _quoted_column(model._meta.pk)
            for field in fields:
                column = _quoted_column(field)
                with transaction.atomic(), connection.cursor() as cursor:
                    # Raw SQL on purpose: the values are rotated as ciphertext, never decrypted
                    # into Python objects, and no model save() side effects run.
                    cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} <> ''")  # noqa: S608
                    rows = cursor.fetchall()
                    for row_pk, ciphertext in rows:
                        cursor.execute(
                            f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                            [rotate(ciphertext), row_pk],
                        )
                    total += len(rows)
                self.stdout.write(f"{model._meta.label}.{field.name}: {len(rows)} re-encrypted")
        total += self._rotate_two_factor_secrets()
        self.stdout.write(self.style.SUCCESS(f"Done: {total} values now use the newest key."))

    def _rotate_two_factor_secrets(self) -> int:
        """allauth.mfa's secrets (inside `Authenticator.data`, encrypted by MFAAdapter).

        The rows are locked while rewritten: a recovery code being used at the same moment
        (allauth locks the row too) waits, and its "used" mark is kept."""
        with transaction.atomic():
            rows = list(
                Authenticator.objects.select_for_update().filter(type__in=list(SECRET_KEYS))
            )
            for row in rows:
                row.data = map_secrets(row.type, row.data, rotate)
            Authenticator.objects.bulk_update(rows, ["data"], batch_size=500)
        self.stdout.write(f"mfa.Authenticator (two-factor secrets): {len(rows)} re-encrypted")
        return len(rows)
