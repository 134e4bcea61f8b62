"""The WSGI application a gunicorn worker imports: what it loads at start is out of the
garbage collector's full passes, so a collection does not stall the worker's requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO

# In a fresh process: import the application as gunicorn does; what does the collector
# still walk after a full collection?
PROBE = """
import gc, json, sys
import alerts_saas.wsgi
gc.collect()
print(json.dumps({"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects()),
                  "views": "alerts_saas.urls" in sys.modules}))
"""


def test_a_worker_leaves_what_it_loaded_at_start_out_of_full_collections(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="alerts_saas.settings")
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["views"], "the URLs and views are loaded at start, not on the first request"
    # Django, the apps and the views: tens of thousands of objects the collector skips.
    assert seen["frozen"] > 50_000
    # What a full collection walks is what came after the start, not what the start made.
    assert seen["tracked"] < seen["frozen"] / 5
