"""Secrets at rest: MultiFernet encryption, key rotation, masking."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from alerts_saas.crypto import EncryptedTextField, decrypt, encrypt, mask, rotate

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_values_round_trip_and_are_not_stored_in_clear() -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW]):
        secret = "u+abcdefghijklmnopqrstuvwxyz012345"
        stored = encrypt(secret)
        assert secret not in stored
        assert decrypt(stored) == secret


def test_rotation_adds_the_new_key_first_and_old_values_still_read() -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD]):
        stored = encrypt("integration-key")
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW, OLD]):
        assert decrypt(stored) == "integration-key"
        rotated = rotate(stored)
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW]):
        assert decrypt(rotated) == "integration-key"


def test_the_field_encrypts_on_save_and_says_which_key_is_missing() -> None:
    field = EncryptedTextField()
    field.set_attributes_from_name("token")
    field.model = type("Account", (), {"__name__": "Account"})
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD]):
        stored = field.get_prep_value("tok_123")
        assert stored != "tok_123"
        assert field.from_db_value(stored, None, None) == "tok_123"
        assert field.get_prep_value("") == ""
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=[NEW]),
        pytest.raises(ImproperlyConfigured, match="is not in FIELD_ENCRYPTION_KEYS"),
    ):
        field.from_db_value(stored, None, None)


def test_masking_shows_the_last_four_characters_only() -> None:
    assert mask("0123456789abcdef0123456789abWXYZ") == "••••••••WXYZ"
    assert mask("") == ""
