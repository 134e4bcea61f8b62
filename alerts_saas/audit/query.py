"""The organization's audit entries, newest first, filtered: the one read of the log, for
Settings → Activity and the management API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.audit.models import ActorKind, Entry
from alerts_saas.ids import as_id


@dataclass(frozen=True)
class Filters:
    """What to show; every field is optional. `who` is "user:<id>", "token:<id>",
    "deleted:<email>" (an account deleted since) or "system"; dates are days in the current
    time zone, both included."""

    who: str = ""
    kind: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None


def entries(organization: Organization, filters: Filters | None = None) -> QuerySet[Entry]:
    """The organization's entries matching `filters`, newest first (slice it to page)."""
    rows = Entry.objects.filter(organization=organization)
    f = filters or Filters()
    kind, _, ident = f.who.partition(":")
    if kind in ("user", "token") and (pk := as_id(ident)) is None:
        rows = rows.none()  # no one has that id
    elif kind == "user":
        rows = rows.filter(actor_kind=ActorKind.USER, actor_user_id=pk)
    elif kind == "token":
        rows = rows.filter(actor_kind=ActorKind.TOKEN, actor_token_id=pk)
    elif kind == "deleted" and ident:  # an account deleted since: by its email then
        rows = rows.filter(actor_kind=ActorKind.USER, actor_user_id__isnull=True, actor_label=ident)
    elif kind == "system":
        rows = rows.filter(actor_kind=ActorKind.SYSTEM)
    if f.kind:
        rows = rows.filter(object_type=f.kind)
    if f.action:
        rows = rows.filter(action=f.action)
    if f.since:
        rows = rows.filter(created_at__gte=_start_of(f.since))
    if f.until:
        rows = rows.filter(created_at__lt=_start_of(f.until + timedelta(days=1)))
    return rows.order_by("-created_at", "-pk")


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
