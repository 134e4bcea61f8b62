"""The management API's routes and error answers, added to the one API object."""

from __future__ import annotations

from ninja import NinjaAPI

from alerts_saas.api import alerts, errors, history, keys


def register(api: NinjaAPI) -> None:
    errors.install(api)
    for router in (alerts.router, history.router, keys.router):
        api.add_router("", router)
