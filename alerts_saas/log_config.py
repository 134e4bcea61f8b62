"""The logging configuration (settings.py reads it into LOGGING): plain lines on the
console, a filter that keeps bearer links' secrets out of every line, and the chatty
HTTP and OAuth libraries, which log bodies and tokens at DEBUG, held at WARNING."""

from __future__ import annotations

from typing import Any


def logging_config(level: str) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        # Bearer links' secrets never reach a log line (alerts_saas.security).
        "filters": {"redact_secrets": {"()": "alerts_saas.security.RedactSecrets"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "filters": ["redact_secrets"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.request": {"filters": ["redact_secrets"]},
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
