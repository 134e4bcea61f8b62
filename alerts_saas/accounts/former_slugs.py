"""Old URL names keep working after an organization is renamed.

Links already sent carry the name the organization had then (PagerDuty incidents' links to
the alert, emails). Its former names are remembered (`FormerSlug`): a signed-in member who
follows one is sent to the same page under the new name; anyone else gets the 404 they got
before, so a former name reveals nothing. No other organization may take a remembered name
until an admin releases it.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from alerts_saas.accounts.models import FormerSlug, Organization


def slug_taken(slug: str, organization: Organization | None = None) -> bool:
    """Whether another organization than `organization` has `slug`, now or as a former name."""
    others = Organization.objects.all()
    former = FormerSlug.objects.filter(slug=slug)
    if organization is not None and organization.pk:
        others = others.exclude(pk=organization.pk)
        former = former.exclude(organization=organization)
    return others.filter(slug=slug).exists() or former.exists()


def remember(organization: Organization, before: str) -> None:
    """After a rename from `before`: the old name leads here, and the new one, if it was a
    former name of this organization, is its own again."""
    if before == organization.slug:
        return
    with transaction.atomic():
        FormerSlug.objects.filter(organization=organization, slug=organization.slug).delete()
        FormerSlug.objects.get_or_create(organization=organization, slug=before)


def moved_to(request: HttpRequest, slug: str) -> HttpResponse | None:
    """The same page under the organization's new name, for a signed-in member following a
    link with a former name; None otherwise (the caller answers 404). Only for reading (GET,
    HEAD): a form posted to an old address is not sent again elsewhere."""
    if request.method not in ("GET", "HEAD") or not request.user.is_authenticated:
        return None
    organization = (
        Organization.objects.filter(former_slugs__slug=slug, memberships__user=request.user)
        .only("slug")
        .first()
    )
    if organization is None:
        return None
    old, new = f"/o/{slug}/", f"/o/{organization.slug}/"
    path = request.get_full_path()
    if old not in path:
        return None
    return HttpResponseRedirect(path.replace(old, new, 1))
