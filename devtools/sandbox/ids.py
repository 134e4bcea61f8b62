"""Deterministic generators for PagerDuty-looking identifiers."""

from __future__ import annotations

import random
import string
from collections.abc import Callable

_ID_ALPHABET = string.ascii_uppercase + string.digits
_KEY_ALPHABET = "0123456789abcdef"
_API_KEY_ALPHABET = string.ascii_letters + string.digits + "_-"


class IdFactory:
    """Seeded source of object IDs and keys; the same seed yields the same sequence."""

    def __init__(self, seed: str) -> None:
        self._rng = random.Random(seed)
        self._issued: set[str] = set()

    def _unique(self, build: Callable[[], str]) -> str:
        while True:
            value = build()
            if value not in self._issued:
                self._issued.add(value)
                return value

    def object_id(self) -> str:
        """A PagerDuty object ID: ``P`` followed by six uppercase alphanumerics."""
        return self._unique(lambda: "P" + "".join(self._rng.choices(_ID_ALPHABET, k=6)))

    def log_entry_id(self) -> str:
        """A log entry ID: ``Q`` followed by thirteen uppercase alphanumerics."""
        return self._unique(lambda: "Q" + "".join(self._rng.choices(_ID_ALPHABET, k=13)))

    def integration_key(self) -> str:
        """A 32 character Events API v2 integration (routing) key."""
        return self._unique(lambda: "".join(self._rng.choices(_KEY_ALPHABET, k=32)))

    def api_key(self) -> str:
        """A 20 character REST API key such as ``y_NbAkKc66ryYTWUXYEu``."""
        return self._unique(lambda: "".join(self._rng.choices(_API_KEY_ALPHABET, k=20)))
