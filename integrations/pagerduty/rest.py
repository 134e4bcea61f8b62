"""The one module that calls PagerDuty's REST API, on behalf of a connected account.

It uses the official client (bearer auth, the account region's base URL), which retries
429 and 5xx with backoff. Tokens are refreshed before they expire, and a 401 triggers one
refresh and one retry.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar, cast

from django.conf import settings
from django.utils.module_loading import import_string
from httpx2 import create_ssl_context
from pagerduty import ITERATION_LIMIT, HttpError, RestApiV2Client
from pagerduty import Error as ClientError

from integrations.pagerduty import conf
from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.tokens import TokenRefreshError, fresh, refresh_tokens

T = TypeVar("T")
INTEGRATION_TYPE = "events_api_v2_inbound_integration"


class PagerDutyApiError(Exception):
    """A REST call failed; `message` says why in PagerDuty's words where it gave some."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _error_message(exc: ClientError) -> tuple[str, int | None]:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    message = ""
    if response is not None:
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            parts = [str(error.get("message") or "")]
            parts += [str(e) for e in error.get("errors") or []]
            message = ": ".join(p for p in parts if p)
    if not message:
        message = f"PagerDuty answered {status}." if status else "PagerDuty could not be reached."
    return message, status


@cache
def _trust() -> ssl.SSLContext:
    """The TLS settings every REST client shares. Left to itself, each client (one per
    call) builds its own and loads the system's certificates into it: about 20 ms of CPU
    per call, more than the call's own work. A context is safe to share between threads."""
    return create_ssl_context()


def _client_class() -> type[RestApiV2Client]:
    """The official client; development settings swap in one that reaches the sandbox."""
    cls: type[RestApiV2Client] = import_string(settings.PAGERDUTY_REST_CLIENT)
    return cls


class AccountApi:
    """REST calls as the user who connected `account`. With `once_within` (seconds), each
    call is one request bounded by that timeout, with none of the client's retries, and the
    client's own log lines are DEBUG, as is a token refresh failing just then: for a caller
    with its own, slower schedule, which logs each failure and what it does next
    (`incidents.unsubscriptions`)."""

    def __init__(self, account: PagerDutyAccount, once_within: int | None = None) -> None:
        self.account = account
        self.once_within = once_within

    def _client(self) -> RestApiV2Client:
        client = _client_class()(
            self.account.access_token,
            auth_type="bearer",
            base_url=conf.region(self.account.region).rest_url,
            verify=_trust(),
        )
        client.timeout = settings.PAGERDUTY_HTTP_TIMEOUT
        # Bounded: a page load should not wait forever on a throttled API.
        client.retry = {429: 4, 500: 2, 502: 2, 503: 2, 504: 2}
        client.max_http_attempts = 6
        client.sleep_timer = 0.5
        if self.once_within is not None:
            client.timeout = self.once_within
            # The client stops at a failed answer once its count of them so far (0) exceeds
            # max_http_attempts, for a status in `retry`: so the first one is returned.
            client.retry = dict.fromkeys(client.retry, 1)
            client.max_http_attempts = -1
            client.max_network_attempts = 0
            # The client only calls debug, warning and error on it, which an adapter has.
            own = client.log or logging.getLogger("pagerduty")
            client.log = cast(logging.Logger, HandledLog(own))
        return client

    def _call(self, operation: Callable[[RestApiV2Client], T]) -> T:
        try:
            self._fresh()
            try:
                return operation(self._client())
            except HttpError as exc:
                if getattr(exc.response, "status_code", None) != 401:
                    raise
                self._refresh()
                return operation(self._client())
        except TokenRefreshError as exc:
            # Only a refused grant is PagerDuty refusing us; a refresh that failed just then
            # (its sign-in host down) is an outage, with no status of PagerDuty's.
            raise PagerDutyApiError(str(exc), 401 if exc.permanent else None) from exc
        except ClientError as exc:
            message, status = _error_message(exc)
            raise PagerDutyApiError(message, status) from exc

    def _fresh(self) -> None:
        self.account = fresh(self.account, self._refresh_failed_level)

    def _refresh(self) -> None:
        """New tokens after a 401 (a subclass may keep its tokens elsewhere)."""
        self.account = refresh_tokens(self.account, self._refresh_failed_level)

    @property
    def _refresh_failed_level(self) -> int:
        """A refresh failing just then is the caller's to tell, with `once_within`."""
        return logging.INFO if self.once_within is None else logging.DEBUG

    def me(self) -> dict[str, Any]:
        return self._call(lambda c: c.rget("/users/me"))

    def first_service(self) -> None:
        """The cheapest read that proves the token works: one service at most (GET
        /services?limit=1, `services.read`, in every scope the product asks for; its published
        answers include 401 and 403). /users/me documents neither and is only for tokens of a
        user; /abilities needs `abilities.read`, which a scoped app is not given."""
        self._call(lambda c: c.jget("/services", params={"limit": 1}))

    def services(self, query: str = "") -> list[dict[str, Any]]:
        """Every service of the account (all pages, 100 at a time), with integrations."""
        return self.service_list(query).services

    def service_list(self, query: str = "") -> ServiceList:
        """The account's services with their integrations, and whether that is all of them
        (`ServiceList.complete`; never with a `query`, which PagerDuty filters)."""
        params: dict[str, Any] = {"include[]": ["integrations"]}
        if query:
            params["query"] = query
        listed = self._call(lambda c: _all_services(c, params))
        return ServiceList(listed.services, listed.complete and not query)

    def create_integration(self, service_id: str, name: str) -> dict[str, Any]:
        body = {"integration": {"type": INTEGRATION_TYPE, "name": name}}
        return self._call(lambda c: c.rpost(f"/services/{service_id}/integrations", json=body))

    def get_integration(self, service_id: str, integration_id: str) -> dict[str, Any]:
        return self._call(lambda c: c.rget(f"/services/{service_id}/integrations/{integration_id}"))

    # Webhooks v3: PagerDuty tells us of the incidents on a service.
    def create_webhook_subscription(
        self, service_id: str, url: str, events: list[str], description: str
    ) -> dict[str, Any]:
        body = {
            "webhook_subscription": {
                "type": "webhook_subscription",
                "delivery_method": {"type": "http_delivery_method", "url": url},
                "description": description,
                "events": events,
                "filter": {"type": "service_reference", "id": service_id},
            }
        }
        return self._call(lambda c: c.rpost("/webhook_subscriptions", json=body))

    def get_webhook_subscription(self, subscription_id: str) -> dict[str, Any]:
        return self._call(lambda c: c.rget(f"/webhook_subscriptions/{subscription_id}"))

    def enable_webhook_subscription(self, subscription_id: str) -> dict[str, Any]:
        return self._call(lambda c: c.rpost(f"/webhook_subscriptions/{subscription_id}/enable"))

    def delete_webhook_subscription(self, subscription_id: str) -> None:
        self._call(lambda c: c.rdelete(f"/webhook_subscriptions/{subscription_id}"))

    # Incidents, as the user who connected the account.
    def get_incident(self, incident_id: str) -> dict[str, Any]:
        return self._call(lambda c: c.rget(f"/incidents/{incident_id}"))

    def set_incident_status(self, incident_id: str, status: str) -> dict[str, Any]:
        body = {"incident": {"type": "incident_reference", "status": status}}
        return self._call(lambda c: c.rput(f"/incidents/{incident_id}", json=body))

    def add_incident_note(self, incident_id: str, content: str) -> dict[str, Any]:
        body = {"note": {"content": content}}
        return self._call(lambda c: c.rpost(f"/incidents/{incident_id}/notes", json=body))

    def oncalls(self, escalation_policy_ids: list[str]) -> list[dict[str, Any]]:
        """Who is on call now for these escalation policies (every level), with users."""
        params = {"escalation_policy_ids[]": escalation_policy_ids, "include[]": ["users"]}
        return self._call(lambda c: list(c.iter_all("/oncalls", params=params, page_size=100)))

    def get_service(self, service_id: str, include: tuple[str, ...] = ()) -> dict[str, Any]:
        """One service (`include`: e.g. "integrations"); a deleted one is a 404."""
        kw: dict[str, Any] = {"params": {"include[]": list(include)}} if include else {}
        return self._call(lambda c: c.rget(f"/services/{service_id}", **kw))


class HandledLog(logging.LoggerAdapter[logging.Logger]):
    """The client's own log lines for a caller that handles every failure and says so in
    its own words (retry at a time, or given up): details at DEBUG. At their own levels a
    handled 5xx read as an unhandled ERROR ("Non-transient HTTP error", "server error!")."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        super().log(min(level, logging.DEBUG), msg, *args, **kwargs)


@dataclass(frozen=True)
class ServiceList:
    """Services as PagerDuty listed them. `complete`: every page was read, the last said
    there was no more, and each page's `total` was the number of services read, none twice
    (a service deleted or added between pages shifts the offsets, and changes the total).
    Only a complete list can say that a service is gone."""

    services: list[dict[str, Any]]
    complete: bool


PAGE_SIZE = 100


def _all_services(client: RestApiV2Client, params: dict[str, Any]) -> ServiceList:
    """Page through GET /services (classic pagination: PagerDuty serves no offset + limit
    past 10,000, so a longer list is read that far and is not complete)."""
    services: list[dict[str, Any]] = []
    totals: set[object] = set()
    while len(services) + PAGE_SIZE <= ITERATION_LIMIT:
        page_params = {**params, "limit": PAGE_SIZE, "offset": len(services), "total": "true"}
        body = cast(dict[str, Any], client.jget("/services", params=page_params))
        page = list(body.get("services") or [])
        services += page
        totals.add(body.get("total"))
        if not body.get("more"):
            ids = {str(s.get("id")) for s in services}
            counted = totals == {len(ids)} and len(ids) == len(services)
            return ServiceList(services, "more" in body and counted)
        if not page:
            break
    return ServiceList(services, False)
