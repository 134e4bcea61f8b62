"""The Content-Security-Policy, and keeping bearer links out of the logs.

An invitation link, a password-reset link and an email-confirmation link each carry a secret
in their path: whoever reads it can use it. Web servers and Django log paths (access lines,
"Bad Request: /path"), and a browser sends the page's address as Referer for what it loads,
so every log line that can hold a path goes through `redact` first.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from csp.constants import NONE, SELF

REDACTED = "[redacted]"

# The path segment after each prefix is the secret (allauth's reset key is "<uid>-<key>").
# The invitation list under Settings (/o/<slug>/settings/invitations/<id>/...) holds none.
_SECRET_IN_PATH = re.compile(
    r"(?P<prefix>(?<!/settings)/invitations/|/accounts/password/reset/key/"
    r"|/accounts/confirm-email/)(?P<secret>[^/?#\s\"']+)"
)


def redact(text: str) -> str:
    """`text` with the secret segment of every bearer-link path replaced."""
    return _SECRET_IN_PATH.sub(lambda m: m["prefix"] + REDACTED, text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message without the secrets in paths; drops nothing.

    Set on the loggers that write paths (django.request, django.server, django.security.*):
    a logger's filter runs before the record reaches any handler, its parents' included.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# No inline script or style anywhere, in development as in production: scripts and styles
# come from our static files only. Pico's form controls draw their icons as data: SVGs.
# form-action is left open: connecting PagerDuty posts a form that redirects to its sign-in.
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    },
}
