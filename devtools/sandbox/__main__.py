"""Run the sandbox: ``python -m devtools.sandbox --host 127.0.0.1 --port 8100``."""

from __future__ import annotations

import argparse
import logging
import sys

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import create_app
from .config import SandboxConfig
from .context import EXTENSION_KEY

READY_MARKER = "PAGERDUTY SANDBOX READY"


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 with persistent connections, as PagerDuty's hosts serve."""

    protocol_version = "HTTP/1.1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local stand-in for PagerDuty's APIs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100, help="0 picks a free port")
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(SandboxConfig.from_env())
    server = make_server(args.host, args.port, app, threaded=True, request_handler=KeepAliveHandler)
    url = f"http://{args.host}:{server.server_port}"
    # Incident links (html_url) point at the inbox: a wildcard address is not browsable.
    browsable = "127.0.0.1" if args.host in {"0.0.0.0", "::", ""} else args.host  # noqa: S104
    app.extensions[EXTENSION_KEY].store.public_url = f"http://{browsable}:{server.server_port}"
    print(f"{READY_MARKER} {url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
