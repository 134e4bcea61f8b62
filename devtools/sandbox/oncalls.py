"""REST ``GET /oncalls``: who is on call, per escalation policy, level and schedule."""

from __future__ import annotations

from flask import Response, request

from .context import store
from .incident_json import oncall_json
from .incidents import time_arg, zone_arg
from .rest import _includes, _json, _paginate, _principal, bp, invalid
from .schedules import MAX_FUTURE, OnCall, oncalls
from .state import utcnow


@bp.get("/oncalls", endpoint="list_oncalls")
def list_oncalls() -> Response:
    """Filters ``escalation_policy_ids[]``, ``schedule_ids[]``, ``user_ids[]``, ``since``,
    ``until``, ``earliest``; ``include[]=users``; ``time_zone`` for the rendered times."""
    st = store()
    include = set(_includes({"users"}))
    zone = zone_arg()
    now = utcnow()
    since = time_arg("since") or now
    until = time_arg("until") or since
    if until < since:
        raise invalid("'until' cannot be before 'since'.")
    if until > now + MAX_FUTURE:
        raise invalid("On-call shifts are limited to 90 days in the future.")
    earliest = request.args.get("earliest", "").lower()
    if earliest not in {"", "true", "false"}:
        raise invalid("'earliest' must be true or false.")
    policy_ids = set(request.args.getlist("escalation_policy_ids[]"))
    schedule_ids = set(request.args.getlist("schedule_ids[]"))
    user_ids = set(request.args.getlist("user_ids[]"))
    account_id = _principal().account.id
    with st.lock:
        policies = [
            p
            for p in st.policies.values()
            if p.account_id == account_id and (not policy_ids or p.id in policy_ids)
        ]
        found = [
            o
            for o in oncalls(st, policies, since, until)
            if (not schedule_ids or o.schedule_id in schedule_ids)
            and (not user_ids or o.user_id in user_ids)
        ]
        if earliest == "true":
            first: dict[tuple[str, int, str], OnCall] = {}
            for o in found:
                first.setdefault((o.policy_id, o.level, o.user_id), o)
            found = list(first.values())
        page, meta = _paginate(found)
        body = [oncall_json(st, o, include, zone) for o in page]
    return _json({"oncalls": body, **meta})
