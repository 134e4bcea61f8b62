"""The open firings of an alert that groups, one per value of its field (a host, a source),
each with PagerDuty's incident for it and the buttons that act on that incident.

Each value pages and resolves on its own, so acknowledging "the alert" means nothing: the
person on call needs every firing value's own incident. An alert may have hundreds of hosts
firing, so a page of them is shown at a time, the first to fire first, in a fixed number
of queries whatever the page holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet
from django.http import QueryDict
from django.urls import reverse

from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.alerts.payload import group_label
from alerts_saas.alerts.state import duration_label
from alerts_saas.alerts.views.rows import FiringRow
from integrations.pagerduty.models import Delivery

VALUES_SHOWN = 20
VALUES_PAGE = "values_page"


@dataclass(frozen=True)
class FiringValues:
    """One page of the values firing now, as rows with their deliveries (and, once
    `history._with_incidents` has seen them, their incidents and who is on call)."""

    field: str  # what the alert counts separately for, e.g. "host"
    rows: list[FiringRow]
    page: Page[Firing]
    poll_url: str  # this page's list alone, refreshed every few seconds
    back_url: str  # where an incident's buttons come back to: this page
    earlier_url: str | None  # the page before (those that fired first)
    later_url: str | None  # the page after

    @property
    def total(self) -> int:
        return self.page.paginator.count

    @property
    def after(self) -> int:
        """Values firing on the pages after this one."""
        return self.total - self.page.end_index()


def with_deliveries(firings: QuerySet[Firing]) -> QuerySet[Firing]:
    # Who resolved it, for its row's words (`FiringRow.cleared_by_words`).
    return firings.select_related("cleared_by", "cleared_by_token").prefetch_related(
        Prefetch("deliveries", queryset=Delivery.objects.order_by("created_at", "pk"))
    )


def firing_row(firing: Firing, now: datetime) -> FiringRow:
    return FiringRow(
        subject=firing,
        duration=duration_label(((firing.cleared_at or now) - firing.opened_at).total_seconds()),
        deliveries=list(firing.deliveries.all()),
    )


def page_number(raw: str | None) -> int:
    """The page asked for; anything but a whole number above 0 is the first."""
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return max(number, 1)


def firing_values(alert: Alert, query: QueryDict, slug: str, now: datetime) -> FiringValues | None:
    """The page of firing values `query` asks for (VALUES_PAGE; past the end, the last);
    None when the alert does not group or nothing fires. Three queries: the count, the
    page, its deliveries."""
    if not alert.group_by:
        return None
    still_open = alert.firings.filter(cleared_at__isnull=True).order_by("opened_at", "pk")
    paginator = Paginator(with_deliveries(still_open), VALUES_SHOWN)
    if paginator.count == 0:
        return None
    page = paginator.get_page(page_number(query.get(VALUES_PAGE)))

    def url(name: str, number: int) -> str:
        """The page `number` of values, keeping the page's other choices (the deliveries'
        filter, the firings' page): a refresh or a button's return must not drop them."""
        kept = query.copy()
        kept[VALUES_PAGE] = str(number)
        return f"{reverse(name, args=[slug, alert.pk])}?{kept.urlencode()}"

    return FiringValues(
        field=group_label(alert),
        rows=[firing_row(firing, now) for firing in page.object_list],
        page=page,
        poll_url=url("alerts:firing_targets", page.number),
        back_url=url("alerts:detail", page.number),
        earlier_url=url("alerts:detail", page.previous_page_number())
        if page.has_previous()
        else None,
        later_url=url("alerts:detail", page.next_page_number()) if page.has_next() else None,
    )
