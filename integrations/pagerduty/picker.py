"""The service picker's list: an account's services found by name or team, a page at a time,
with what is already connected and what the person has ticked so far.

PagerDuty's own `query` matches service names only, so the whole list is fetched (100 a
call) and searched here; the ticks travel with each search and page (`service` ids).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator

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


def rows_of(
    account: PagerDutyAccount, services: Iterable[dict[str, Any]], selected: set[str]
) -> list[Row]:
    """Every service as a row, by name (three queries, whatever the number of services)."""
    refused = set(
        account.services.filter(refused_at__isnull=False).values_list("pd_service_id", flat=True)
    )
    # A service PagerDuty refuses can be chosen again: that makes it a new integration.
    connected = set(account.services.values_list("pd_service_id", flat=True)) - refused
    ours = our_integration_ids(account.organization)
    rows = [
        Row(
            id=str(s["id"]),
            name=str(s.get("name") or s.get("summary") or s["id"]),
            teams=teams_of(s),
            connected=s["id"] in connected,
            refused=s["id"] in refused,
            has_integration=our_integration(s, ours) is not None,
            selected=s["id"] in selected and s["id"] not in connected,
        )
        for s in services
    ]
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
