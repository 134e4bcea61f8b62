"""What "Send test alert" asks before it pages, and what stops a second tap paging again.

A test alert pages whoever is on call for the chosen services, so the form asks first,
naming them (`confirmation`), and a test still open from the same form (the alert, or a
person's unsaved draft) is not sent again to the same service (`open_tests`): the second
tap refuses in words, and the open test's panel shows how to resolve it.

PagerDuty, not Tripwire, sets an incident's urgency: an Events API event carries only a
severity, which decides the urgency only where the service's urgency rule is "based on
alert severity" (critical and error: high; warning and info: low); a constant rule (high by
default) ignores it, and a rule by support hours has one of those for each side. For an
OAuth-connected service the question says what its rule, as last read in the background
(`OnCallNow.urgency_rule`), makes of the test's severity. Where Tripwire can't read the rule
(a pasted key has no REST access; its account needs reconnecting; or no fresh reading) it
says the test may be high urgency, and does not promise it won't ring. Who is on call, read
before the account needed reconnecting or refreshes stopped, is said as the last known, with
when, never as now. Urgency is all it says: how a person is notified at each urgency is
their own PagerDuty setting, someone may not be on call, and an Event Orchestration rule
(which Tripwire does not read) can change the urgency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from alerts_saas.accounts.models import User
from alerts_saas.accounts.times import clock
from alerts_saas.alerts.models import Alert, Severity
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.incidents.models import OnCallNow
from integrations.pagerduty.incidents.oncall import to_reconnect
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService


@dataclass(frozen=True)
class Confirmation:
    """The question asked before a test alert pages anyone."""

    pages: str  # "This pages Olivia Oncall (Checkout API) now."
    urgency: str
    ends: str


def confirmation(
    paths: Sequence[tuple[PagerDutyService, OnCallNow | None]], severity: str, refused: str = ""
) -> Confirmation:
    """Who the test pages: each chosen service with who it pages now, as far as Tripwire
    knows (the form's own `target_on_call`), and how urgently, for the test's `severity`.
    `refused`: what is said first of the chosen services PagerDuty refuses (not in `paths`),
    where a test is sent only to check a fix."""
    who = [_who(service, oc) for service, oc in paths]
    pages = f"This pages {_listed(who)} now." if who else NOBODY
    return Confirmation(
        pages=f"{refused} {pages}".strip(),
        urgency=urgency_words(paths, severity),
        ends=_ends(settings.TEST_INCIDENT_AUTO_RESOLVE),
    )


# Said when PagerDuty refuses every chosen service: a test then only checks a fix.
NOBODY = (
    "This pages nobody, unless it was fixed in PagerDuty since: a test PagerDuty takes "
    "marks it working again."
)
URGENCIES = {"high", "low", "severity_based"}  # a constant rule's, or a support-hours side's
HOW = {  # each person sets how PagerDuty reaches them at each urgency: hence "usually"
    "high": "PagerDuty notifies whoever is on call by their high-urgency rules (usually a "
    "phone call or push)",
    "low": "PagerDuty notifies whoever is on call by their low-urgency rules (often email only)",
}
MAY_BE_HIGH = f"may be high urgency: then {HOW['high']}."
ORCHESTRATION = "An Event Orchestration rule in PagerDuty can still change the urgency."


def urgency_words(paths: Sequence[tuple[PagerDutyService, OnCallNow | None]], severity: str) -> str:
    """What each chosen service's urgency rule makes of a test of `severity`."""
    said: list[str] = []
    unread: list[str] = []
    pasted: list[str] = []
    reconnect: list[str] = []
    for service, oc in paths:
        rule = _rule(oc)
        if service.account_id is None:
            pasted.append(service.name)
        elif to_reconnect(oc):
            reconnect.append(service.name)
        elif rule is None:
            unread.append(service.name)
        else:
            said.append(_rule_words(service.name, rule, severity))
    if said:
        said.append(ORCHESTRATION)
    if unread:
        said.append(
            f"Tripwire couldn't read the urgency setting of {_listed(unread)} just now, so "
            f"this test {MAY_BE_HIGH}"
        )
    if reconnect:
        said.append(
            f"Tripwire can't read the urgency setting of {_listed(reconnect)} while "
            f"{'its' if len(reconnect) == 1 else 'their'} PagerDuty account needs "
            f"reconnecting, so this test {MAY_BE_HIGH}"
        )
    if pasted:
        said.append(
            f"PagerDuty sets the urgency in {_listed(pasted)} by "
            f"{'its' if len(pasted) == 1 else 'their'} own settings, which Tripwire can't read "
            f"through a pasted integration key, so this test {MAY_BE_HIGH}"
        )
    return " ".join(said)


def _rule(oc: OnCallNow | None) -> dict[str, str] | None:
    """The service's urgency rule as each side of it stands ({"": urgency} for a constant
    one), if read in the last refresh and understood; None otherwise."""
    if oc is None or oc.checked_at is None or _old(oc):
        return None
    rule = oc.urgency_rule or {}
    sides = {"": rule}
    if rule.get("type") == "use_support_hours":
        sides = {
            "during": rule.get("during_support_hours") or {},
            "outside": rule.get("outside_support_hours") or {},
        }
    elif rule.get("type") != "constant":
        return None
    urgencies = {side: str(part.get("urgency")) for side, part in sides.items()}
    return urgencies if set(urgencies.values()) <= URGENCIES else None


def _of(urgency: str, severity: str) -> str:
    if urgency != "severity_based":
        return urgency
    return "high" if severity in (Severity.CRITICAL, Severity.ERROR) else "low"


def _rule_words(name: str, rule: dict[str, str], severity: str) -> str:
    urgency = {side: _of(u, severity) for side, u in rule.items()}
    if len(set(urgency.values())) == 1:
        [level] = set(urgency.values())
        if set(rule.values()) == {"severity_based"}:
            return (
                f"{name} sets urgency by severity, and this test is sent as {severity}, which "
                f"is {level} urgency: {HOW[level]}."
            )
        return f"The urgency setting of {name} makes this test {level} urgency: {HOW[level]}."
    return (
        f"The urgency setting of {name} makes this test {urgency['during']} urgency during its "
        f"support hours and {urgency['outside']} urgency outside them. PagerDuty notifies "
        "whoever is on call by their rules for that urgency (high: usually a phone call or "
        "push; low: often email only)."
    )


def _old(oc: OnCallNow) -> bool:
    """The reading is not current: its account needs reconnecting, or it missed refreshes."""
    return to_reconnect(oc) or bool(getattr(oc, "as_of", False))


def _who(service: PagerDutyService, oc: OnCallNow | None) -> str:
    if oc is None or not oc.checked_at or oc.problem:
        return f"whoever is on call for {service.name}"
    if _old(oc):  # the last known, said as such, with when
        listed = ", ".join(oc.names) or "nobody, PagerDuty said"
        return (
            f"whoever is on call for {service.name} (on call at {clock(oc.checked_at)}, the "
            f"last Tripwire could read: {listed})"
        )
    if oc.names:
        return f"{', '.join(oc.names)} ({service.name})"
    return f"no one at the first level of {service.name} (PagerDuty lists nobody on call)"


def paged(oc: OnCallNow | None) -> str:
    """Who a test just sent pages, by a current on-call reading ("Olivia Oncall"); "" when
    Tripwire doesn't know (no reading, an old one, one that failed, or its account needs
    reconnecting)."""
    if oc is None or not oc.checked_at or oc.problem or _old(oc):
        return ""
    return ", ".join(oc.names)


def _listed(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{'; '.join(parts[:-1])} and {parts[-1]}"


def _ends(after: timedelta) -> str:
    if after <= timedelta(0):
        return "Its incident stays open until someone resolves it."
    minutes = round(after.total_seconds() / 60)
    unit = "minute" if minutes == 1 else "minutes"
    return f"Its incident resolves itself after {minutes} {unit}, or when you resolve it."


def open_tests(
    services: Sequence[PagerDutyService], alert: Alert | None, person: User
) -> list[Delivery]:
    """Test triggers sent from this form (the saved `alert`, or `person`'s unsaved draft)
    to `services` whose incident is still open: not refused, its resolve not sent yet."""
    if not services:
        return []
    sent_here = Q(alert=alert) if alert is not None else Q(alert__isnull=True, created_by=person)
    deliveries = Delivery.objects.filter(
        sent_here,
        organization_id=services[0].organization_id,
        service__in=services,
        is_test=True,
    )
    return [d for d in engine.open_triggers(deliveries) if d.event_action == EventAction.TRIGGER]


def refused_words(still_open: Sequence[Delivery]) -> str:
    """Why a second tap sent nothing to these services."""
    names = _listed(sorted({d.service_name for d in still_open}))
    return (
        f"Not sent again to {names}: the test alert sent from this form is still open there, "
        "so a second one would page them twice. Its panel is below: resolve it there "
        "(or wait until it resolves itself), then send another."
    )
