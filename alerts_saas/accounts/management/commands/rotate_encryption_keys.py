"""Re-encrypt every encrypted field with the newest key in FIELD_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import Field

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
        self.stdout.write(self.style.SUCCESS(f"Done: {total} values now use the newest key."))
