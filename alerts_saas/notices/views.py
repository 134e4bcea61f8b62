"""The member's notification settings, and an organization's paging problems."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from alerts_saas.accounts.access import SignedInRequest, TenantRequest, for_tenant, tenant_view
from alerts_saas.accounts.models import Membership, Role
from alerts_saas.notices.emails import alert_lines, only_reconnect
from alerts_saas.notices.models import PagingProblem

RECENTLY_FIXED = 10
SHOWN_OPEN = 100  # open problems spelled out on the page, worst first


class NotificationsForm(forms.Form):
    """ "Email me when paging breaks", one box per organization of the user."""

    organizations = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Email me when paging breaks"
    )

    def __init__(self, memberships: list[Membership], *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["organizations"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(str(m.pk), m.organization.name) for m in memberships]
        field.initial = [str(m.pk) for m in memberships if m.email_paging_problems]


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: SignedInRequest) -> HttpResponse:
    memberships = list(
        Membership.objects.filter(user=request.user)
        .select_related("organization")
        .order_by("organization__name")
    )
    form = NotificationsForm(memberships, request.POST or None)
    if request.method == "POST" and form.is_valid():
        wanted = set(form.cleaned_data["organizations"])
        for membership in memberships:
            on = str(membership.pk) in wanted
            if membership.email_paging_problems != on:
                membership.email_paging_problems = on
                membership.save(update_fields=["email_paging_problems"])
        messages.success(request, "Notification settings saved.")
        return redirect("notices:settings")
    rows = [
        {
            "membership": m,
            "checked": m.email_paging_problems,
            "gets_them": m.has_role(Role.ADMIN),
        }
        for m in memberships
    ]
    context = {
        "form": form,
        "rows": rows,
        "reminder_hours": settings.PROBLEM_REMINDER_HOURS,
        "hold_seconds": settings.PROBLEM_EMAIL_HOLD_SECONDS,
    }
    return render(request, "notices/settings.html", context)


@tenant_view()
def problems(request: TenantRequest) -> HttpResponse:
    """What is broken in the organization's paging now, and what was fixed lately."""
    open_rows = for_tenant(request, PagingProblem.objects.open().worst_first())
    shown = list(open_rows[:SHOWN_OPEN])
    fixed = for_tenant(request, PagingProblem.objects.filter(resolved_at__isnull=False))
    context = {
        "open_problems": [(p, alert_lines(p)) for p in shown],
        "not_shown": open_rows.count() - len(shown) if len(shown) == SHOWN_OPEN else 0,
        # Accounts to reconnect alone leave every page going out: said so, not "broken".
        "reconnect_only": only_reconnect(shown),
        "fixed": fixed.order_by("-resolved_at")[:RECENTLY_FIXED],
    }
    return render(request, "notices/problems.html", context)
