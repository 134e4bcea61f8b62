"""The official REST client, allowed to speak plain HTTP to the sandbox on loopback.

PagerDuty's client insists on https:// base URLs, as it should: PagerDuty's hosts are always
HTTPS. Development settings (and only they) select this class through
``PAGERDUTY_REST_CLIENT`` so that the product can talk to the sandbox on http://127.0.0.1.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pagerduty import RestApiV2Client

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class LoopbackRestClient(RestApiV2Client):
    @property
    def url(self) -> str:
        return self._url

    @url.setter
    def url(self, new_base_url: str) -> None:
        if new_base_url.startswith("http://") and urlsplit(new_base_url).hostname in LOOPBACK:
            self._url = new_base_url
        else:
            RestApiV2Client.url.fset(self, new_base_url)  # type: ignore[attr-defined]
