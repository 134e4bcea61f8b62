"""Run a benchmark: ``python -m devtools.bench ingest --help``.

Each benchmark is a Django management command class kept out of the product's apps, so the
shipped package has no benchmark in it; this runs one with the project's settings.
"""

from __future__ import annotations

import importlib
import os
import sys

import django

BENCHES = {
    "ingest": "devtools.bench.ingest",
    "delivery": "devtools.bench.delivery",
    "faults": "devtools.bench.faults",
    "alert-list": "devtools.bench.alert_list",
    "ingest-cpu": "devtools.bench.ingest_cpu",
    "count-replay": "devtools.bench.count_replay",
}


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in BENCHES:
        sys.exit(f"usage: python -m devtools.bench {{{'|'.join(BENCHES)}}} [options]")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alerts_saas.settings")
    django.setup()
    command = importlib.import_module(BENCHES[argv[1]]).Command()
    command.run_from_argv(["python -m devtools.bench", argv[1], *argv[2:]])


if __name__ == "__main__":
    main(sys.argv)
