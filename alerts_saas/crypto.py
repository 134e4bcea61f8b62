"""Encryption of secrets at rest (OAuth tokens, integration keys) with MultiFernet.

Keys come from FIELD_ENCRYPTION_KEYS, newest first: new values are encrypted with the
first key, and any listed key decrypts. To rotate, put a new key first, run
`manage.py rotate_encryption_keys`, then drop the old key.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes)."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    return fernet().decrypt(ciphertext.encode()).decode()


@lru_cache(maxsize=4096)
def _decrypt_cached(ciphertext: str, keys: tuple[str, ...]) -> str:
    return _fernet(keys).decrypt(ciphertext.encode()).decode()


def decrypt_cached(ciphertext: str) -> str:
    """`decrypt`, remembered per ciphertext in this process: for a hot path that reads the
    same few secrets over and over (the delivery engine's routing keys)."""
    if not ciphertext:
        return ciphertext
    try:
        return _decrypt_cached(ciphertext, tuple(settings.FIELD_ENCRYPTION_KEYS))
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "Cannot decrypt a stored secret: the key that encrypted it is not in "
            "FIELD_ENCRYPTION_KEYS."
        ) from exc


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key."""
    return fernet().rotate(ciphertext.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; Python code sees the plaintext.

    It cannot be searched or filtered on. An empty string stays empty.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        try:
            return decrypt(value)
        except InvalidToken as exc:
            raise ImproperlyConfigured(
                f"Cannot decrypt {self.model.__name__}.{self.name}: the key that encrypted it "
                "is not in FIELD_ENCRYPTION_KEYS."
            ) from exc

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)


def mask(secret: str | None, visible: int = 4) -> str:
    """Show a secret as its last few characters only."""
    if not secret:
        return ""
    return "•" * 8 + secret[-visible:]
