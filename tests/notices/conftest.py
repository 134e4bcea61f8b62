"""What the tests of held paging-problem emails share: the hold they run with (`held`; the
suite's settings default it to 0, so other tests get their emails at once), and an admin
beside the owner, who is told what the owner's own change made."""

from __future__ import annotations

import pytest

from alerts_saas.accounts.models import Organization, Role

OWNER = "owner@acme.example"
ADMIN = "admin@acme.example"
HOLD = 60


@pytest.fixture
def held(settings) -> None:
    settings.PROBLEM_EMAIL_HOLD_SECONDS = HOLD


@pytest.fixture
def admin(org: Organization, add_member) -> None:
    add_member(org, ADMIN, Role.ADMIN)
