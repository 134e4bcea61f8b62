from __future__ import annotations

import pytest


@pytest.fixture
def worker_settings() -> dict[str, str]:
    """Retries start at 1 s so that a few of them fit in a test."""
    return {"DELIVERY_RETRY_BASE": "1"}
