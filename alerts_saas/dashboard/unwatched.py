"""Alerts that can't fire because they watch nothing yet (alerts/watching.py), for the
dashboard's summary: how many, each linked, and the list filter for all of them."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from alerts_saas.alerts.watching import LIST_STATE, field_words, watching_nothing

NAMED = 3  # alerts named in the summary; the list's filter shows the rest


@dataclass(frozen=True, slots=True)
class Named:
    name: str
    url: str


@dataclass(frozen=True, slots=True)
class Unwatched:
    """The organization's enabled alerts that watch nothing."""

    named: list[Named]  # the first NAMED, by name
    count: int
    field: str  # what they watch each of: "host"
    list_url: str

    @property
    def more(self) -> int:
        return self.count - len(self.named)

    @property
    def words(self) -> str:
        """ "1 alert can't fire: it watches no host yet"."""
        if self.count == 1:
            return f"1 alert can't fire: it watches no {self.field} yet"
        return f"{self.count} alerts can't fire: they watch no {self.field} yet"


def unwatched(organization: Organization) -> Unwatched | None:
    """None when no alert watches nothing, or the count store can't be read just now (one
    query, and one read of the count store for every alert that may watch nothing)."""
    found = watching_nothing(Alert.objects.filter(organization=organization))
    if not found:
        return None
    slug = organization.slug
    named = [
        Named(alert.name, reverse("alerts:detail", args=[slug, alert.pk]))
        for alert in found[:NAMED]
    ]
    list_url = f"{reverse('alerts:list', args=[slug])}?state={LIST_STATE}"
    return Unwatched(named, len(found), field_words(found), list_url)
