"""The banner on every tenant page while the organization has a paging problem open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Window
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from alerts_saas.accounts.access import shown_tenant
from alerts_saas.accounts.models import Organization
from alerts_saas.notices.models import PagingProblem
from integrations.pagerduty.reconnect import SHORT


@dataclass(frozen=True, slots=True)
class Banner:
    """The worst open problem, its fix, and how many more there are."""

    title: str
    fix_label: str
    fix_url: str
    more: int
    problems_url: str
    kind: str = ""
    since: datetime | None = None  # when it began, if known (said for an account to reconnect)

    @property
    def admin_only(self) -> bool:
        """Only an owner or admin can mend it (a service's key, an account's access):
        members are told whom to ask, not to fix it."""
        return self.kind in ("refused", "reconnect")

    @property
    def reconnect_words(self) -> str:
        """For an account to reconnect, not a broken path: what still works, what stopped."""
        return SHORT[0].upper() + SHORT[1:]


def banner(organization: Organization) -> Banner | None:
    """One query on the open-problems index: the worst problem and the count of all."""
    top = (
        PagingProblem.objects.open()
        .filter(organization=organization)
        .worst_first()
        .annotate(total=Window(Count("pk")))
        .values("title", "fix_label", "fix_url", "total", "kind", "since")
        .first()
    )
    if top is None:
        return None
    return Banner(
        top["title"],
        top["fix_label"],
        top["fix_url"],
        top["total"] - 1,
        reverse("notices:problems", args=[organization.slug]),
        top["kind"],
        top["since"],
    )


def paging_banner(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `paging_banner` on tenant pages, read only if a template shows
    it (htmx fragments don't); none where `shown_tenant` shows no tenant."""
    tenant = shown_tenant(request)
    if tenant is None:
        return {}
    organization = tenant.organization
    return {"paging_banner": SimpleLazyObject(lambda: banner(organization))}
