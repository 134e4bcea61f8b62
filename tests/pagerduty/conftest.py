"""Fixtures of the integration's beat reads (the services' check and the access check)."""

from __future__ import annotations

import pytest

from alerts_saas.notices import tasks as notices


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The organizations a paging check was queued for once committed (not run)."""
    calls: list[int] = []
    monkeypatch.setattr(
        notices.reconcile_organization, "apply_async", lambda args, **kw: calls.append(args[0])
    )
    return calls
