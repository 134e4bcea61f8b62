"""The logging configuration (settings.py reads it into LOGGING): plain lines on the
console, a filter that keeps bearer links' secrets out of every line, one line for a 403
(`RefusalsInOneLine`), and the chatty HTTP and OAuth libraries, which log bodies and
tokens at DEBUG, held at WARNING."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied


class RefusalsInOneLine(logging.Filter):
    """Drops django.request's record of a 403 raised as `PermissionDenied` (a role too low:
    expected), traceback and all: `errors.permission_denied` logs it in one WARNING line.
    Every other record, a 500's traceback among them, goes through."""

    def filter(self, record: logging.LogRecord) -> bool:
        refused = record.exc_info[1] if record.exc_info else None
        status = getattr(record, "status_code", None)
        return not (status == 403 and isinstance(refused, PermissionDenied))


def logging_config(level: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        # Bearer links' secrets never reach a log line (alerts_saas.security).
        "filters": {
            "redact_secrets": {"()": "alerts_saas.security.RedactSecrets"},
            "refusals_in_one_line": {"()": "alerts_saas.log_config.RefusalsInOneLine"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "filters": ["redact_secrets"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.request": {"filters": ["redact_secrets", "refusals_in_one_line"]},
            "django.security.csrf": {"filters": ["redact_secrets"]},
            # runserver's access lines (Django's own handler for them is replaced here).
            "django.server": {
                "handlers": ["console"],
                "propagate": False,
                "filters": ["redact_secrets"],
            },
            "django.db.backends": {"level": "INFO"},
            # These log request bodies and tokens at DEBUG: never let that through.
            "requests_oauthlib": {"level": "WARNING"},
            "oauthlib": {"level": "WARNING"},
            "pagerduty": {"level": "WARNING"},
            "httpx2": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
            "aiohttp": {"level": "WARNING"},
        },
    }
