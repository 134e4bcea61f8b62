"""Two-factor secrets encrypted at rest (settings.MFA_ADAPTER).

allauth.mfa keeps an authenticator app's TOTP secret and the recovery codes' seed in
`mfa_authenticator.data`, passing each through the adapter's `encrypt`/`decrypt`; allauth's
default stores them unchanged. Here they are encrypted with the keys of every other secret
(`alerts_saas.crypto`, FIELD_ENCRYPTION_KEYS), so a database backup alone cannot mint codes,
and `rotate_encryption_keys` re-encrypts them with the newest key.

`map_secrets` names which values of `data` are secrets, for the migration that encrypted the
rows stored in clear before (accounts 0006) and for the rotation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import InvalidToken
from django.core.exceptions import ImproperlyConfigured

from alerts_saas import crypto

# Per authenticator type, the keys of `data` that hold one secret each...
SECRET_KEYS: dict[str, tuple[str, ...]] = {"totp": ("secret",), "recovery_codes": ("seed",)}
# ...and those that hold a list of them (recovery codes carried over from another 2FA app).
SECRET_LISTS: dict[str, tuple[str, ...]] = {"recovery_codes": ("migrated_codes",)}


class MFAAdapter(DefaultMFAAdapter):
    """allauth's MFA adapter, storing its secrets encrypted."""

    # A wrong code is most often an old one, or a phone whose clock is off: say what to try.
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "incorrect_code": (
            "Incorrect code. Type the newest code your authenticator app shows (each lasts "
            "30 seconds), and check that your phone sets its clock automatically: a clock "
            "a minute off gives wrong codes."
        ),
    }

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        try:
            return crypto.decrypt(encrypted_text)
        except InvalidToken as exc:
            raise ImproperlyConfigured(
                "Cannot decrypt a two-factor secret: the key that encrypted it is not in "
                "FIELD_ENCRYPTION_KEYS (or migrations have not run: accounts 0006 encrypts "
                "the secrets stored before)."
            ) from exc


def map_secrets(kind: str, data: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    """A copy of an authenticator's `data` with `change` applied to each of its secrets."""
    changed = dict(data)
    for key in SECRET_KEYS.get(kind, ()):
        if isinstance(changed.get(key), str):
            changed[key] = change(changed[key])
    for key in SECRET_LISTS.get(kind, ()):
        if isinstance(changed.get(key), list):
            changed[key] = [change(value) for value in changed[key]]
    return changed
