"""Pages opened at another name of this product's address go to SITE_URL first.

`make run` answers on both 127.0.0.1 and localhost, but a browser keeps a session per host,
and PagerDuty's OAuth callback (like every emailed link) is on SITE_URL: someone who signed
in at localhost came back from connecting PagerDuty signed out. So a page opened on one of
SITE_ALIASES, at SITE_URL's port, redirects to the same path on SITE_URL before any session
begins there. Only GET and HEAD: a form posted elsewhere keeps its answer, and the API and
the health check answer wherever they are asked. The target is SITE_URL, never a name the
request gave, so this can't send anyone elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase

_ANSWERED_ANYWHERE = ("/api/", "/healthz")


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


class SiteAddress:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        moved = self._moved(request)
        return moved if moved is not None else self.get_response(request)

    def _moved(self, request: HttpRequest) -> HttpResponse | None:
        aliases = settings.SITE_ALIASES
        if not aliases or request.method not in ("GET", "HEAD"):
            return None
        if request.path.startswith(_ANSWERED_ANYWHERE):
            return None
        site = urlsplit(settings.SITE_URL)
        asked = urlsplit(f"//{request.get_host()}")
        site_port = site.port or _default_port(site.scheme)
        asked_port = asked.port or _default_port(request.scheme or "http")
        if asked.hostname not in aliases or asked_port != site_port:
            return None
        return HttpResponseRedirect(settings.SITE_URL + request.get_full_path())
