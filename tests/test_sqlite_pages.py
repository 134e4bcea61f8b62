"""`make run` runs on SQLite (the embedded default) and the suite on PostgreSQL, so a page
that uses a database function of PostgreSQL's own passes every test and fails in `make run`:
the alert page's past firings did (an ArrayAgg in `paged.sent_of`, a 500 on SQLite). The
tests of the pages that count and name what a firing sent run again here, on SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

PAGES = [
    "tests/alerts/test_missed_page.py",  # the alert page's past firings (`sent_of`)
    "tests/dashboard/test_missed_page_names_service.py",  # the dashboard and the email
    "tests/incidents/test_incident_pages.py",  # an open firing's incident
]


def test_the_pages_of_what_a_firing_sent_render_on_sqlite(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "VAR_DIR": str(tmp_path / "var"),
    }
    env.pop("TEST_LANE", None)  # a lane names a PostgreSQL test database
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *PAGES, "-q", "-p", "no:cacheprovider", "-m", "not slow"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
