"""What an alert's services mean for its pages, in a few words: beside each service in the
alert form, and in what saving it says (the page's message, the API's `warnings`).

Each service's state and words are `paths.service_health`'s; here they are only put short
("Typo key: PagerDuty refuses its key"). Saving a broken service is allowed (someone may be
mending it right after), but said plainly: who the alert pages until it is mended.
"""

from __future__ import annotations

from collections.abc import Sequence

from alerts_saas.alerts.health import fallback_promise
from alerts_saas.alerts.models import Alert
from alerts_saas.alerts.reach import Fallbacks
from alerts_saas.words import listed
from integrations.pagerduty.models import PagerDutyService
from integrations.pagerduty.paths import ServiceHealth, service_health

# A broken state in a few words, after the service's name; a state not listed here reads
# as its label (`ServiceHealth.label`).
PHRASES = {
    "refused": "PagerDuty refuses its key",
    "reconnect": "account needs reconnecting",
    "failing": "deliveries to it are failing",
}
# An alert saved with no service at all: the fallback pages only for refused services.
NO_SERVICE = "It pages nobody: it has no PagerDuty service. Choose one to page."
# What a broken state that still pages means for the pages.
STILL_PAGES = {"reconnect": "pages still go out through its key"}


def phrase(path: ServiceHealth) -> str:
    """The path's trouble in a few words; "" if it pages as it should."""
    if path.ok:
        return ""
    if path.deleted:
        return "deleted in PagerDuty"
    label = path.label
    return PHRASES.get(str(path.state), label[:1].lower() + label[1:])


def saved_warnings(
    alert: Alert, targets: Sequence[PagerDutyService], fallbacks: Fallbacks | None = None
) -> list[str]:
    """What to say on saving `alert` with these `targets` (their accounts loaded): whom it
    pages until its broken services are mended; nothing if every one works. The fallback's
    name is read only when PagerDuty refuses every target."""
    if not targets:  # saved without one (`AlertForm.pages_nobody_now`)
        return [NO_SERVICE]
    paths = [(service, service_health(service)) for service in targets]
    refused = [(s, p) for s, p in paths if not p.ok and not p.can_page]
    shaky = [(s, p) for s, p in paths if not p.ok and p.can_page]
    paging = [s.name for s, p in paths if p.can_page]
    said: list[str] = []
    if refused:
        until = _until(refused, all_of=bool(paging))
        if paging:
            said.append(f"It pages only {listed(paging)} until {until}.")
        else:
            fallback = (fallbacks or Fallbacks()).name(alert.organization_id)
            if fallback:
                own = "service pages" if len(refused) == 1 else "services page"
                said.append(f"Its {own} nobody until {until}. {fallback_promise(fallback)}")
            else:
                said.append(f"It pages nobody until {until}.")
    for service, path in shaky:
        still = STILL_PAGES.get(str(path.state))
        said.append(f"{service.name}: {phrase(path)}{f'; {still}' if still else ''}.")
    return said


def _until(refused: Sequence[tuple[PagerDutyService, ServiceHealth]], all_of: bool) -> str:
    """ "Typo key is fixed: PagerDuty refuses its key"; several, each with its own words
    (`all_of`: each one mended adds to whom it pages; else the first one mended pages)."""
    if len(refused) == 1:
        service, path = refused[0]
        verb = "replaced" if path.deleted else "fixed"
        return f"{service.name} is {verb}: {phrase(path)}"
    each = [f"{service.name} ({phrase(path)})" for service, path in refused]
    return f"{'these are' if all_of else 'one of these is'} fixed: {listed(each)}"


def test_refusals(targets: Sequence[PagerDutyService]) -> tuple[set[int], str]:
    """The chosen services PagerDuty refuses (their ids), and what "Send test alert" says of
    them before it sends: the test is likely refused there too."""
    refused = [(s, p) for s, p in ((s, service_health(s)) for s in targets) if not p.can_page]
    if not refused:
        return set(), ""
    each = "; ".join(f"{service.name}: {phrase(path)}" for service, path in refused)
    return {s.pk for s, _ in refused}, f"PagerDuty will likely refuse it for {each}."
