"""The service picker's list: an account's services found by name or team, a page at a time,
with what is already connected and what the person has ticked so far.

PagerDuty's own `query` matches service names only, so the whole list is fetched (100 a
call) and searched here; the ticks travel with each search and page (`service` ids).
The list comes with each service's integrations (`include[]=integrations`), so a connected
service whose integration was removed in PagerDuty is seen in the same calls, and marked
refused (`paths.mark_removed`) as a refused page would mark it; so is one the complete list
leaves out once PagerDuty answers 404 for it: its service was deleted in PagerDuty. A service
so marked that a list shows again is unmarked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator

from integrations.pagerduty import paths
from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.provisioning import our_integration, our_integration_ids
from integrations.pagerduty.rest import AccountApi, PagerDutyApiError

log = logging.getLogger(__name__)
PER_PAGE = 25


@dataclass(frozen=True)
class Row:
    """One service as the picker shows it: its name, its teams, and where it stands."""

    id: str
    name: str
    teams: str
    connected: bool = False
    refused: bool = False
    removed: bool = False  # the list shows it without the integration Tripwire saved
    has_integration: bool = False
    selected: bool = False


def teams_of(service: dict[str, Any]) -> str:
    """The service's teams, by name ("Payments, SRE"); references carry it as summary."""
    names = (str(t.get("name") or t.get("summary") or "") for t in service.get("teams") or [])
    return ", ".join(n for n in names if n)


def matches(row: Row, query: str) -> bool:
    """Whether the search finds the service: in its name or its teams' names."""
    folded = query.casefold()
    return folded in row.name.casefold() or folded in row.teams.casefold()


@dataclass
class Listing:
    """What the picker shows for one search and page."""

    url: str  # the picker's own
    query: str
    page: Page[Row]
    selected: list[Row]
    total: int  # services in the account, whatever the search

    @property
    def found(self) -> int:
        return self.page.paginator.count

    def page_url(self, number: int) -> str:
        params = {"q": self.query, "page": number} if self.query else {"page": number}
        return f"{self.url}?{urlencode(params)}"

    @property
    def previous_url(self) -> str:
        return self.page_url(self.page.number - 1) if self.page.has_previous() else ""

    @property
    def next_url(self) -> str:
        return self.page_url(self.page.number + 1) if self.page.has_next() else ""


def integration_removed(service: dict[str, Any] | None, integration_id: str) -> bool:
    """Whether PagerDuty lists the service without the integration `integration_id`. Only a
    service listed with its integrations can say so: one missing from the list says nothing."""
    if service is None or not integration_id or "integrations" not in service:
        return False
    return all(i.get("id") != integration_id for i in service["integrations"] or [])


def mark_removed(
    account: PagerDutyAccount, services: Iterable[dict[str, Any]], complete: bool = False
) -> int:
    """Judge the account's connected services by PagerDuty's list of them. One listed without
    its integration is marked refused (`INTEGRATION_REMOVED`). One a `complete` list
    (`rest.ServiceList`) leaves out is asked about (`confirm_missing`), and marked
    `SERVICE_DELETED` (even if a refused page marked it first) only when PagerDuty answers
    404 for it. One marked deleted that a list shows again has that mark cleared
    (`paths.unmark_deleted`). Returns how many services' marks changed (one query to read,
    one update for each kind of change). A partial list (a search, a truncated paging)
    says nothing of those it leaves out."""
    listed = {str(s["id"]): s for s in services}
    details: dict[int, str] = {}
    missing: list[Saved] = []
    relisted: dict[int, bool] = {}
    for pk, pd_id, integration_id, refused_at, refused_detail in account.services.values_list(
        "pk", "pd_service_id", "integration_id", "refused_at", "refused_detail"
    ):
        service = listed.get(pd_id)
        if service is None:
            if complete and refused_detail != paths.SERVICE_DELETED:
                missing.append(Saved(pk, pd_id, integration_id, refused_at is not None))
        elif refused_detail == paths.SERVICE_DELETED:
            relisted[pk] = integration_removed(service, integration_id)
        elif refused_detail != paths.INTEGRATION_REMOVED and integration_removed(
            service, integration_id
        ):  # also what explains a refusal in PagerDuty's words (`paths.mark_removed`)
            details[pk] = paths.INTEGRATION_REMOVED
    details.update(confirm_missing(account, missing))
    organization_id = account.organization_id
    return paths.mark_removed(organization_id, details) + paths.unmark_deleted(
        organization_id, relisted
    )


@dataclass(frozen=True)
class Saved:
    """A connected service as Tripwire saved it, for `confirm_missing`."""

    pk: int
    pd_id: str
    integration_id: str
    refused: bool


def confirm_missing(account: PagerDutyAccount, missing: list[Saved]) -> dict[int, str]:
    """What PagerDuty says of each service a complete list left out, one
    `GET /services/{id}` each (there are almost never any). A list is not proof: it shows
    what the token can see, and a service deleted and another created between its pages
    shifts one still there out of reach. Only a 404 says the service was deleted; a service
    PagerDuty shows is not, though its integration may be gone; any other answer says
    nothing. Returns service id -> the words to mark it with."""
    details: dict[int, str] = {}
    if not missing:
        return details
    api = AccountApi(account)
    for saved in missing:
        try:
            service = api.get_service(saved.pd_id, include=("integrations",))
        except PagerDutyApiError as exc:
            if exc.status == 404:
                details[saved.pk] = paths.SERVICE_DELETED
            else:
                log.info(
                    "PagerDuty service %s of account %s, left out of its list, not checked: %s",
                    saved.pd_id,
                    account.pk,
                    exc.message,
                )
            continue
        if not saved.refused and integration_removed(service, saved.integration_id):
            details[saved.pk] = paths.INTEGRATION_REMOVED
    return details


def rows_of(
    account: PagerDutyAccount, services: Iterable[dict[str, Any]], selected: set[str]
) -> list[Row]:
    """Every service as a row, by name (two queries, whatever the number of services)."""
    saved = {
        pd_id: (integration_id, refused_at is not None)
        for pd_id, integration_id, refused_at in account.services.values_list(
            "pd_service_id", "integration_id", "refused_at"
        )
    }
    # A service PagerDuty refuses can be chosen again: that makes it a new integration.
    connected = {pd_id for pd_id, (_, refused) in saved.items() if not refused}
    ours = our_integration_ids(account.organization)
    rows = []
    for s in services:
        pd_id = str(s["id"])
        integration_id, refused = saved.get(pd_id, ("", False))
        removed = integration_removed(s, integration_id)
        # Gone from PagerDuty: it can be chosen again, whatever was last recorded.
        is_connected = pd_id in connected and not removed
        rows.append(
            Row(
                id=pd_id,
                name=str(s.get("name") or s.get("summary") or pd_id),
                teams=teams_of(s),
                connected=is_connected,
                refused=refused or removed,
                removed=removed,
                has_integration=our_integration(s, ours) is not None,
                selected=pd_id in selected and not is_connected,
            )
        )
    return sorted(rows, key=lambda row: (row.name.casefold(), row.id))


def listing(url: str, rows: list[Row], query: str, page_number: str | None) -> Listing:
    """The rows the search finds, the page asked for (the last if past it), the ticks."""
    found = [row for row in rows if matches(row, query)] if query else rows
    page = Paginator(found, PER_PAGE).get_page(page_number)
    return Listing(
        url=url,
        query=query,
        page=page,
        selected=[row for row in rows if row.selected],
        total=len(rows),
    )
