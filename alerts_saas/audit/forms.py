"""The Activity page's filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import BooleanField, Exists, IntegerField, OuterRef, Q, Value

from alerts_saas.accounts.models import Membership, Organization, User
from alerts_saas.audit import registry
from alerts_saas.audit.models import Action, ActorKind, Entry
from alerts_saas.audit.query import Filters

ANY = ("", "Anyone")


class ActivityFilterForm(forms.Form):
    who = forms.ChoiceField(label="Who", required=False)
    kind = forms.ChoiceField(label="What", required=False)
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *Action.choices]
    )
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data: Any, organization: Organization) -> None:
        super().__init__(data)
        self.fields["who"].choices = [ANY, *who_choices(organization)]  # type: ignore[attr-defined]
        kinds = [(kind, words[:1].upper() + words[1:]) for kind, words in registry.kinds()]
        self.fields["kind"].choices = [("", "Anything"), *kinds]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    def filters(self) -> Filters:
        """The valid filters (an invalid one is left out, and said so on the page)."""
        data = self.cleaned_data if self.is_bound else {}
        return Filters(
            who=data.get("who") or "",
            kind=data.get("kind") or "",
            action=data.get("action") or "",
            since=data.get("since") if "since" not in self.errors else None,
            until=data.get("until") if "until" not in self.errors else None,
        )


def who_choices(organization: Organization) -> list[tuple[str, str]]:
    """The organization's members, those who left (their entries stay, "(left)"), the
    accounts deleted since (by the email their entries were written with, "(account
    deleted)"), its API tokens, and the system. One query for the people."""
    member = Exists(Membership.objects.filter(organization=organization, user=OuterRef("pk")))
    acted = Entry.objects.filter(organization=organization, actor_kind=ActorKind.USER)
    people = (
        User.objects.filter(member | Q(pk__in=acted.values("actor_user_id")))
        .annotate(member=member)
        .order_by()
        .values_list("pk", "email", "member")
    )
    gone = (
        acted.filter(actor_user__isnull=True)
        .annotate(no_one=Value(None, IntegerField()), no=Value(False, BooleanField()))
        .order_by()
        .values_list("no_one", "actor_label", "no")
    )
    choices = [
        _person(pk, email, now)
        for pk, email, now in people.union(gone).order_by("-member", "email")
    ]
    tokens = registry.tracked_model("api_token")
    if tokens is not None:
        rows = tokens._default_manager.filter(organization=organization).order_by("name")
        choices += [(f"token:{t.pk}", f"API token “{getattr(t, 'name', t.pk)}”") for t in rows]
    return [*choices, ("system", "System")]


def _person(pk: int | None, email: str, member: bool) -> tuple[str, str]:
    if pk is None:  # an account deleted since: its entries keep the email they were made with
        return f"deleted:{email}", f"{email} (account deleted)"
    return f"user:{pk}", email if member else f"{email} (left)"
