"""gunicorn's access log without the secrets of bearer links (see alerts_saas.security)."""

from __future__ import annotations

import datetime
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger  # type: ignore[import-untyped]

from alerts_saas.security import redact


class RedactingAccessLogger(GunicornLogger):
    """gunicorn's logger with every access-log field (request line, path, query, Referer,
    headers) redacted; the production command names it with --logger-class."""

    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: datetime.timedelta
    ) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
