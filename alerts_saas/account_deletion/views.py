"""Deleting one's own account: the confirmation page (GET), the deletion (POST, after
confirming it is you: allauth's reauthentication, the password or the two-factor code), and
the page a deleted account lands on, signed out. The rules are in `deletion`."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from alerts_saas.account_deletion import deletion
from alerts_saas.account_deletion.emails import send_deleted_email
from alerts_saas.accounts.access import SignedInRequest
from alerts_saas.ids import as_id

DELETED_KEY = "account_deleted"  # in the new, signed-out session: for the page


@login_required
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True)  # the POST: the password, or the code
def delete_account(request: SignedInRequest) -> HttpResponse:
    user = request.user
    error = ""
    confirmed: set[int] = set()
    if request.method == "POST":
        confirmed = _ids(request, "delete_org")
        email, time_zone = user.email, user.time_zone
        try:
            done = deletion.delete_account(user, confirmed, _ids(request, "left_org"))
        except deletion.AccountDeletionRefused as exc:
            error = str(exc)
        else:
            logout(request)
            sent = send_deleted_email(email, time_zone, done)
            request.session[DELETED_KEY] = {"email": email, "emailed": sent}
            return redirect("account_deletion:deleted")
    context = {"plan": deletion.plan(user), "error": error, "confirmed": confirmed}
    return render(request, "accounts/account_delete.html", context, status=400 if error else 200)


def _ids(request: HttpRequest, name: str) -> set[int]:
    return {pk for v in request.POST.getlist(name) if (pk := as_id(v)) is not None}


@require_GET
def deleted(request: HttpRequest) -> HttpResponse:
    said = request.session.get(DELETED_KEY) or {}
    return render(request, "accounts/account_deleted.html", said)
