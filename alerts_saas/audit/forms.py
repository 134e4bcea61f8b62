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
DATE_WORDS = "Enter a date as year-month-day, such as 2026-03-31, or leave it empty."


class ActivityFilterForm(forms.Form):
    who = forms.ChoiceField(label="Who", required=False)
    kind = forms.ChoiceField(label="What", required=False)
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *Action.choices]
    )
    since = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": DATE_WORDS},
    )
    until = forms.DateField(
        label="To",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": DATE_WORDS},
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
            self.add_error(
                "until",
                "The end date is before the start date: pick a “To” date on or after the "
                "“From” date, or leave one of them empty.",
            )
        return data

    def filters(self) -> Filters:
        """The filters of a valid form (an invalid one lists nothing: the page says what to
        fix rather than show entries the filters did not ask for)."""
        data = self.cleaned_data
        return Filters(
            who=data.get("who") or "",
            kind=data.get("kind") or "",
            action=data.get("action") or "",
            since=data.get("since"),
            until=data.get("until"),
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
