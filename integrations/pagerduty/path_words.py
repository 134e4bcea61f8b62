"""A service's path state in words: what is wrong, since when, and what to do about it
(`paths.service_health` chooses which). Kept apart from the marks' writers in `paths`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from alerts_saas.accounts.times import clock
from integrations.pagerduty.models import PagerDutyService, Region


def clause(text: str) -> str:
    """`text` without its closing full stop, to be joined into a sentence of ours: reasons
    (PagerDuty's, or an account's detail) often end with one, and a join must not double it."""
    return text.strip().rstrip(".").rstrip()


class PathState(StrEnum):
    """A service's state as a path to someone's phone, worst last."""

    OK = "ok"
    # A person changed it (a pasted key's region): PagerDuty has not taken an event since.
    UNCONFIRMED = "unconfirmed"
    FAILING = "failing"  # a delivery failed for good (not a refused key)
    RECONNECT = "reconnect"  # its PagerDuty account needs reconnecting
    REFUSED = "refused"  # PagerDuty refuses its integration key


# The refusals the service picker records from PagerDuty's list of services: Tripwire's
# findings, not words PagerDuty sent. A service listed without the integration Tripwire saved
# for it; a service missing from the account's complete list (`rest.ServiceList.complete`).
INTEGRATION_REMOVED = "Tripwire's integration is no longer on the service in PagerDuty"
SERVICE_DELETED = "Service deleted in PagerDuty"


LABELS = {
    PathState.OK: "Pages OK",
    PathState.UNCONFIRMED: "Not confirmed yet",
    PathState.FAILING: "Deliveries failing",
    PathState.RECONNECT: "Needs reconnecting",
    PathState.REFUSED: "Refused by PagerDuty",
}


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    """A service's path state in words, and since when. `cause` says what is wrong, `mend`
    what an owner or admin does about it, and `ask` the same for a member to ask of one
    (members can't delete, re-paste or reconnect services)."""

    state: PathState
    cause: str = ""
    since: datetime | None = None
    mend: str = ""
    ask: str = ""  # "<verb> ...", after "Ask an owner or admin of <org> to "
    # The mend as said on Integrations, beside the button it names (`advice(here=True)`).
    mend_here: str = ""
    deleted: bool = False  # the service itself is gone from PagerDuty (`SERVICE_DELETED`)

    @property
    def words(self) -> str:
        """Cause and mend, for pages and emails that do not know who reads them."""
        return f"{self.cause} {self.mend}".strip()

    def advice(self, is_admin: bool, organization: str, here: bool = False) -> str:
        """The words for this reader: the action for an owner or admin, whom to ask for a
        member. `here`: read on Integrations, where the buttons the mend names are."""
        if is_admin and here and self.mend_here:
            return f"{self.cause} {self.mend_here}"
        if is_admin or not self.ask:
            return self.words
        return f"{self.cause} Ask an owner or admin of {organization} to {self.ask}."

    @property
    def ok(self) -> bool:
        return self.state == PathState.OK

    @property
    def label(self) -> str:
        return "Deleted in PagerDuty" if self.deleted else LABELS[self.state]

    @property
    def can_page(self) -> bool:
        """Whether a trigger to it can be expected to page someone: not when PagerDuty
        refuses its key. (An account to reconnect still pages through the key.)"""
        return self.state != PathState.REFUSED

    @property
    def needs_fallback(self) -> bool:
        """Whether an alert's trigger to it should also go to the fallback service: its key
        is refused, or its account needs reconnecting (Tripwire can no longer see whether
        its integration still exists)."""
        return self.state in (PathState.REFUSED, PathState.RECONNECT)


def refused(service: PagerDutyService) -> ServiceHealth:
    """PagerDuty refuses the key. A pasted key's region is the person's guess: PagerDuty
    knows a key in one region only, so a wrong region looks the same as a removed
    integration, and is checked first. A connected service's region is its account's; while
    that account needs reconnecting, "Add services" is hidden, so the mend starts there.
    Reads `service.account` (select it with the service)."""
    health = _refused(service)
    account = None if service.is_pasted else service.account
    if account is None or not account.needs_reconnect:
        return health
    name = account.name
    return replace(
        health,
        mend=f"Reconnect PagerDuty account {name} first (“Reconnect {name}” in Integrations): "
        f"“Add services” is hidden until then. Then {_lower(health.mend)}",
        ask=f"reconnect PagerDuty account {name}, then {health.ask}",
        mend_here=f"Reconnect {name} first, with the button above: “Add services” is hidden "
        f"until then. Then {_lower(health.mend_here or health.mend)}",
    )


def _lower(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:]


def _refused(service: PagerDutyService) -> ServiceHealth:
    detail = clause(service.refused_detail) or "HTTP 400"
    if not service.is_pasted and service.refused_detail == SERVICE_DELETED:
        return ServiceHealth(
            PathState.REFUSED,
            "It was deleted in PagerDuty, so pages to it can't get through.",
            service.refused_at,
            "Connect another service in Integrations, choose it in the alerts that page this "
            "one, then delete this one.",
            "connect another service in Integrations for the alerts that page this one, and "
            "delete this one",
            "Connect another service under “Add services”, choose it in the alerts that page "
            "this one, then delete this one.",
            deleted=True,
        )
    if not service.is_pasted and service.refused_detail == INTEGRATION_REMOVED:
        return ServiceHealth(
            PathState.REFUSED,
            "Tripwire's integration was removed from it in PagerDuty, so pages to it can't "
            "get through.",
            service.refused_at,
            "Choose it again under “Add services” to give it a new integration.",
            "choose it again under “Add services” in Integrations, to give it a new integration",
        )
    if not service.is_pasted:
        return ServiceHealth(
            PathState.REFUSED,
            f"PagerDuty refuses its integration key ({detail}): the integration was "
            "probably removed in PagerDuty.",
            service.refused_at,
            "Choose it again under “Add services” to give it a new integration.",
            "choose it again under “Add services” in Integrations, to give it a new integration",
        )
    here, other = _regions(service.region)
    if service.refused_region and service.refused_region != service.region:
        return _refused_in_both(service, detail, here, other)
    if service.refused_first:  # it never worked: a slip in the key is likelier than removal
        cause = (
            f"PagerDuty refuses its integration key ({detail}) and has never taken an event "
            f"for it, so a typo or the wrong region is likelier than a removed integration. "
            f"Check the region: this key is not known to PagerDuty in the {here}."
        )
        otherwise = (
            "If not, copy the key again from the integration in PagerDuty (the service's "
            "Integrations tab), delete this service and paste it."
        )
        why = "else paste the key again (it is probably mistyped)"
    else:
        cause = (
            f"PagerDuty refuses its integration key ({detail}). Check the region: this key "
            f"is not known to PagerDuty in the {here}."
        )
        otherwise = (
            "If not, the integration was probably removed in PagerDuty: delete this service "
            "and paste the key of a new Events API v2 integration."
        )
        why = "else replace the integration (it was probably removed in PagerDuty)"
    return ServiceHealth(
        PathState.REFUSED,
        cause,
        service.refused_at,
        f"If the integration is in the {other}, switch this service to it: “Switch to "
        f"{other}” in Integrations, or paste the same key again with region “{other}”. "
        + otherwise,
        f"switch it to the {other} if the integration is there, or {why}",
        f"If the integration is in the {other}, switch this service to it with the button "
        f"below, or paste the same key again with region “{other}”. " + otherwise,
    )


def _refused_in_both(
    service: PagerDutyService, detail: str, here: str, other: str
) -> ServiceHealth:
    """Refused in the region a person switched it to, after being refused in the other:
    the region is not the problem, so switching back is not advised; the key is."""
    return ServiceHealth(
        PathState.REFUSED,
        f"PagerDuty refuses its integration key ({detail}) in the {here}, and refused it in "
        f"the {other} before the region was switched: the key itself is wrong (mistyped) or "
        "its integration was removed in PagerDuty.",
        service.refused_at,
        "Copy the key again from the integration in PagerDuty (the service's Integrations "
        "tab; if the integration is gone, add a new Events API v2 integration there), "
        "delete this service and paste the key.",
        "paste its key again from PagerDuty (it was refused in both regions)",
    )


def unconfirmed(service: PagerDutyService) -> ServiceHealth:
    """A person changed the path (a pasted key's region): their guess, not PagerDuty's
    answer. Neither refused nor OK until PagerDuty takes an event there, or refuses it."""
    at = service.unconfirmed_at
    when = f" at {clock(at)}" if at else ""
    return ServiceHealth(
        PathState.UNCONFIRMED,
        f"{clause(service.unconfirmed_why) or 'Changed'}{when}; not confirmed until PagerDuty "
        "accepts an event there.",
        at,
        "Send a test event to it from Integrations to check it now.",
        mend_here="Send a test event to check it now.",
    )


def other_region(region: str) -> tuple[str, str]:
    """The region a pasted key may belong to instead: its code and its name."""
    code = next(value for value in Region.values if value != region)
    return code, str(Region(code).label)


def _regions(region: str) -> tuple[str, str]:
    """The region's name, and the other one's."""
    return str(dict(Region.choices).get(region, region)), other_region(region)[1]
