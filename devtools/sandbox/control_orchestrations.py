"""Control API for Event Orchestrations (tests only; joins ``control.bp``).

GET  /_sandbox/orchestrations             every orchestration (filter ``account_id``)
POST /_sandbox/orchestrations             {"service_id", "name"}: a new orchestration in the
                                          service's account, routing every event to it
                                          ({"account_id"} and no service: unrouted)
POST /_sandbox/orchestrations/<id>/route  {"service_id": id | null}: its router's catch-all
"""

from __future__ import annotations

from flask import Response, jsonify, request

from .context import store
from .control import _bad, _body, bp
from .state import Service


def _service(service_id: object) -> Service | Response | None:
    """The service named in the body; None when none is named, a 404 when unknown."""
    if service_id is None:
        return None
    service = store().services.get(str(service_id))
    return _bad("unknown service_id", 404) if service is None else service


@bp.get("/orchestrations")
def list_orchestrations() -> Response:
    st = store()
    account_id = request.args.get("account_id")
    with st.lock:
        found = [
            o.public()
            for o in st.orchestrations.values()
            if account_id is None or o.account_id == account_id
        ]
    return jsonify(orchestrations=found)


@bp.post("/orchestrations")
def create_orchestration() -> Response:
    st = store()
    body = _body()
    service = _service(body.get("service_id"))
    if isinstance(service, Response):
        return service
    account = st.accounts.get(service.account_id if service else str(body.get("account_id")))
    if account is None:
        return _bad("give a service_id, or an account_id for an unrouted orchestration", 400)
    name = str(body.get("name") or "Sandbox Orchestration")
    orchestration = st.add_orchestration(account, name, service)
    response = jsonify(orchestration.public())
    response.status_code = 201
    return response


@bp.post("/orchestrations/<orchestration_id>/route")
def route_orchestration(orchestration_id: str) -> Response:
    st = store()
    service = _service(_body().get("service_id"))
    if isinstance(service, Response):
        return service
    orchestration = st.orchestrations.get(orchestration_id)
    if orchestration is None:
        return _bad("unknown orchestration", 404)
    if service is not None and service.account_id != orchestration.account_id:
        return _bad("the service is in another account", 400)
    st.set_route(orchestration_id, service)
    return jsonify(orchestration.public())
