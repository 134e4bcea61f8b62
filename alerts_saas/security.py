"""The Content-Security-Policy, and keeping bearer links out of the logs.

An invitation link, a password-reset link and an email-confirmation link each carry a secret
in their path: whoever reads it can use it. Web servers and Django log paths (access lines,
"Bad Request: /path"), and a browser sends the page's address as Referer for what it loads,
so every log line that can hold a path goes through `redact` first.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict
from typing import Any

from csp.constants import HEADER, NONE, SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

REDACTED = "[redacted]"

# The path segment after each prefix is the secret (allauth's reset key is "<uid>-<key>";
# PagerDuty's webhook receiver is named by its subscription's token, as secret as the
# others). The invitation list under Settings (/o/<slug>/settings/invitations/<id>/...)
# holds none.
_SECRET_IN_PATH = re.compile(
    r"(?P<prefix>(?<!/settings)/invitations/|/accounts/password/reset/key/"
    r"|/accounts/confirm-email/|/integrations/pagerduty/webhooks/)(?P<secret>[^/?#\s\"']+)"
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


class ContentSecurityPolicy(CSPMiddleware):
    """django-csp's middleware, with a policy on every response in development too.

    django-csp sends none on a 404 or 500 in DEBUG, for the sake of Django's own error pages
    (a traceback, the list of URLs), which carry inline style and script. Here those pages
    alone get a policy that lets their inline code run; every other response, our own error
    pages included, keeps the strict one.
    """

    # Django's technical 404 and 500 templates say this; no page of ours does.
    DJANGO_ERROR_PAGE = b'<meta name="robots" content="NONE,NOARCHIVE">'
    ALLOW_INLINE = {"script-src": [UNSAFE_INLINE], "style-src": [UNSAFE_INLINE]}

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not (settings.DEBUG and response.status_code in (404, 500)):
            return super().process_response(request, response)
        if isinstance(response, HttpResponse) and self.DJANGO_ERROR_PAGE in response.content:
            response._csp_update = self.ALLOW_INLINE  # type: ignore[attr-defined]
        policy = build_policy(**asdict(self.get_policy_parts(request=request, response=response)))
        if policy and HEADER not in response and not getattr(response, "_csp_exempt", False):
            response[HEADER] = policy
        return response
