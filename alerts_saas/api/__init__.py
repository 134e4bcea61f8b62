"""The management API: alerts, services, firings, deliveries and ingest keys under
/api/v1/, for an organization's API tokens, in the same OpenAPI document as the ingest
API (`alerts_saas.ingest.api`, which calls `register`)."""

from __future__ import annotations

from ninja import NinjaAPI


def register(api: NinjaAPI) -> None:
    from alerts_saas.api import alerts, errors, history, keys

    errors.install(api)
    for router in (alerts.router, history.router, keys.router):
        api.add_router("", router)
