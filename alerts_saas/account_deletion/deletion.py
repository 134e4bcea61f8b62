"""What deleting an account does, and doing it.

`plan` reads the person's memberships in one query (each with its member and owner counts
and what leaving takes, `holdings`), and the paging still under way in the organizations that
would go with them in two more. Each membership is one of three:

- the only member: the organization is deleted with the account, if the person ticked it on
  the page (`org_deletion.deletion.delete_organization`, refused while paging is under way);
- the only owner with other members: refused, until they make someone else an owner or
  delete the organization;
- otherwise the membership ends as leaving does (`remove_member`: the audit entry, their API
  tokens there revoked, each with why).

`delete_account` does all of it and deletes the user in one transaction: anything refused
rolls all of it back, so the page's promise holds or nothing happens. The user's rows go
with it (email addresses, two-factor authenticators); everything else that names them keeps
the row with the reference cleared (every foreign key to the user but memberships is
SET_NULL), and audit entries keep the email they were written with (`actor_label`). Their
sessions end: the one deleting is signed out, and any other finds no user any more.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from alerts_saas.accounts.models import Membership, Organization, Role, User
from alerts_saas.accounts.services import MembershipError, holdings, remove_member
from alerts_saas.alerts.models import Alert, Firing
from alerts_saas.locks import lock_all_rows_to_delete
from alerts_saas.org_deletion import deletion as org_deletion
from integrations.pagerduty.models import Delivery

log = logging.getLogger(__name__)


class AccountDeletionRefused(Exception):
    """Why the account was not deleted, in words for the person; nothing was deleted."""


@dataclass(frozen=True)
class Blocked:
    """An organization the person is the only owner of, with other members."""

    organization: Organization
    other_members: int


@dataclass(frozen=True)
class Plan:
    """What deleting the account does to each of the person's organizations."""

    deleted: list[Organization] = field(default_factory=list)  # only member: goes too
    left: list[Membership] = field(default_factory=list)  # the membership ends
    blocked: list[Blocked] = field(default_factory=list)  # only owner, others there
    paging: list[Organization] = field(default_factory=list)  # of `deleted`: paging now

    @property
    def refused(self) -> bool:
        return bool(self.blocked or self.paging)

    @property
    def left_api_tokens(self) -> int:
        return sum(getattr(m, "api_tokens", 0) for m in self.left)


def _count(rows: Q) -> Coalesce:
    counted = (
        Membership.objects.filter(rows, organization=OuterRef("organization"))
        .order_by()
        .values("organization")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def plan(user: User) -> Plan:
    """Three queries, whatever the number of organizations."""
    memberships = list(
        Membership.objects.filter(user=user)
        .select_related("organization")
        .annotate(members=_count(Q()), owners=_count(Q(role=Role.OWNER)), **holdings())
        .order_by(F("organization__name"), "organization_id")
    )
    result = Plan()
    for m in memberships:
        if m.members == 1:
            result.deleted.append(m.organization)
        elif m.role == Role.OWNER and m.owners == 1:
            result.blocked.append(Blocked(m.organization, m.members - 1))
        else:
            result.left.append(m)
    paging = paging_in({o.pk for o in result.deleted})
    result.paging.extend(o for o in result.deleted if o.pk in paging)
    return result


def paging_in(organization_ids: Collection[int]) -> set[int]:
    """Of these organizations, those with paging under way (an open firing, an event to
    PagerDuty queued or being sent): `org_deletion` refuses to delete them. Two queries."""
    if not organization_ids:
        return set()
    firing = Firing.objects.filter(organization_id__in=organization_ids, cleared_at__isnull=True)
    sending = Delivery.objects.filter(
        organization_id__in=organization_ids, status__in=org_deletion.IN_FLIGHT
    )
    return set(firing.values_list("organization_id", flat=True).distinct()) | set(
        sending.values_list("organization_id", flat=True).distinct()
    )


def refusal(found: Plan) -> str:
    """Why the account can't be deleted yet, in one sentence per organization."""
    said = [
        f"You are the only owner of {b.organization.name}, which has other members: make one "
        f"of them an owner, or delete {b.organization.name}."
        for b in found.blocked
    ]
    said += [
        f"{o.name} would be deleted with your account, but paging is still under way there: "
        "open its deletion page to see what, and stop it."
        for o in found.paging
    ]
    return " ".join(["Nothing was deleted.", *said])


def delete_account(user: User, confirmed: Collection[int], shown_left: Collection[int]) -> Plan:
    """Delete `user`, the organizations where they are the only member (each of whose ids
    must be in `confirmed`, ticked on the page), and end their other memberships (those of
    the organizations `shown_left`, as the page said), in one transaction; else raise
    `AccountDeletionRefused` and change nothing. What was done is returned (for the
    confirmation email)."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        found = plan(user)
        _check(found, set(confirmed), set(shown_left))
        for organization in found.deleted:
            _delete_alone(organization, user)
        for membership in found.left:
            try:
                remove_member(membership, membership)
            except MembershipError as exc:  # the other owner left meanwhile
                raise AccountDeletionRefused(f"Nothing was deleted: {exc}") from exc
            except Membership.DoesNotExist as exc:  # an admin removed them just now
                raise AccountDeletionRefused(
                    "Nothing was deleted: your organizations changed since this page was "
                    "shown (someone joined or left one). Read what it says now."
                ) from exc
        pk = user.pk
        user.delete()
    log.info("User %s deleted their account", pk)
    return found


def _check(found: Plan, confirmed: set[int], shown_left: set[int]) -> None:
    """Refuse what the page did not say, or did not have confirmed."""
    if found.refused:
        raise AccountDeletionRefused(refusal(found))
    deleted = {o.pk for o in found.deleted}
    if {m.organization_id for m in found.left} != shown_left or not confirmed <= deleted:
        raise AccountDeletionRefused(
            "Nothing was deleted: your organizations changed since this page was shown "
            "(someone joined or left one). Read what it says now."
        )
    unticked = [o.name for o in found.deleted if o.pk not in confirmed]
    if unticked:
        raise AccountDeletionRefused(
            f"Nothing was deleted: tick {', '.join(unticked)} to confirm "
            f"{'it goes' if len(unticked) == 1 else 'they go'} with your account."
        )


def _delete_alone(organization: Organization, user: User) -> None:
    """Delete an organization `user` is the only member of, if they still are: locked as
    `delete_organization` locks it (alerts first), so no one joins between the count and
    the deletion."""
    lock_all_rows_to_delete(Alert, organization.pk)
    locked = Organization.objects.select_for_update().filter(pk=organization.pk).first()
    if locked is None:
        return  # deleted meanwhile (by them, on its own page): what was asked is done
    others = Membership.objects.filter(organization_id=organization.pk).exclude(user=user)
    if others.exists():
        raise AccountDeletionRefused(
            f"Nothing was deleted: someone joined {organization.name} meanwhile. "
            "Look at the page again."
        )
    try:
        org_deletion.delete_organization(locked, user, locked.name)
    except org_deletion.DeletionRefused as exc:
        raise AccountDeletionRefused(str(exc)) from exc
