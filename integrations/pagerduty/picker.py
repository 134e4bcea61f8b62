"""The service picker's list: an account's services found by name or team, a page at a time,
with what is already connected and what the person has ticked so far.

PagerDuty's own `query` matches service names only, so the whole list is fetched (100 a
call) and searched here; the ticks travel with each search and page (`service` ids).
The list comes with each service's integrations (`include[]=integrations`), so a connected
service whose integration was removed in PagerDuty is seen in the same calls, and marked
refused (`paths.mark_removed`) as a refused page would mark it; so is one the complete list
leaves out: its service was deleted in PagerDuty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator

from integrations.pagerduty import paths
from integrations.pagerduty.models import PagerDutyAccount
from integrations.pagerduty.provisioning import our_integration, our_integration_ids

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
    """Mark refused the account's connected services that PagerDuty now lists without their
    integration and, when the list is `complete` (`rest.ServiceList`), those it no longer
    lists at all: deleted in PagerDuty (even if a refused page marked them first). Returns
    how many were newly marked (one query, one update when any). A partial list (a search,
    a truncated paging) says nothing of those it leaves out."""
    listed = {str(s["id"]): s for s in services}
    details: dict[int, str] = {}
    for pk, pd_id, integration_id, refused_at, refused_detail in account.services.values_list(
        "pk", "pd_service_id", "integration_id", "refused_at", "refused_detail"
    ):
        if pd_id not in listed:
            if complete and refused_detail != paths.SERVICE_DELETED:
                details[pk] = paths.SERVICE_DELETED
        elif refused_at is None and integration_removed(listed[pd_id], integration_id):
            details[pk] = paths.INTEGRATION_REMOVED
    return paths.mark_removed(account.organization_id, details)


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
