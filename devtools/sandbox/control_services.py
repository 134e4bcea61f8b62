"""Control API for services' settings that the REST subset serves but cannot change (tests
only; joins ``control.bp``).

POST /_sandbox/services/<id>/urgency_rule  {"incident_urgency_rule": {...},
                                            "support_hours": {...} (for use_support_hours)}:
                                            what GET /services/<id> serves from now on, and
                                            the urgency its new incidents get
"""

from __future__ import annotations

from flask import Response, jsonify

from .context import store
from .control import _bad, _body, bp
from .urgency import rule_problem


@bp.post("/services/<service_id>/urgency_rule")
def set_urgency_rule(service_id: str) -> Response:
    st = store()
    body = _body()
    rule, hours = body.get("incident_urgency_rule"), body.get("support_hours")
    problem = rule_problem(rule, hours)
    if problem or not isinstance(rule, dict):
        return _bad(problem, 400)
    kept_hours = dict(hours) if rule["type"] == "use_support_hours" and hours else None
    with st.lock:
        service = st.services.get(service_id)
        if service is None or service.deleted_at is not None:
            return _bad("unknown service", 404)
        service.urgency_rule, service.support_hours = dict(rule), kept_hours
    return jsonify(incident_urgency_rule=service.urgency_rule, support_hours=service.support_hours)
