"""Paging problems as the people of an organization were told about them.

A row is one problem from `alerts.health.problems` (the source of truth for what is broken
now), from when it was first seen to when it was gone, with what it looked like then and
which emails went out about it. `reconcile.py` opens and closes rows and sends the emails;
the banner reads the open ones.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.health import ProblemKind

# Worst first within the same impact (`worst_first`: what an open firing meets, then what
# alerts page through, then the rest), as `problems` sorts them, an account to reconnect
# last: its pages still go out (`pagerduty.reconnect`).
KIND_ORDER = [k for k in ProblemKind if k != ProblemKind.RECONNECT] + [ProblemKind.RECONNECT]
# Problems that only a member's change makes (an enabled alert left without a service): one
# made in a member's request is theirs (`opened_by`). A refused key, failing deliveries or an
# account to reconnect are PagerDuty's doing, whoever's request first saw them.
MEMBER_MADE = frozenset({ProblemKind.NOBODY})
# Problems during which a page may have been lost: told even when gone before the first email
# ("broken for 2 minutes, fixed now"); the others, gone that soon, are not worth an email.
LOST_PAGES = frozenset({ProblemKind.REFUSED, ProblemKind.FAILING})
# `impact` of a problem nothing pages through: not told as "Paging broken" (`emails`).
NO_ALERT = 2


class PagingProblemQuerySet(models.QuerySet["PagingProblem"]):
    def open(self) -> PagingProblemQuerySet:
        return self.filter(resolved_at__isnull=True)

    def all_clear_pending(self) -> PagingProblemQuerySet:
        return self.filter(all_clear_due=True, all_clear_sent_at__isnull=True)

    def worst_first(self) -> PagingProblemQuerySet:
        rank = models.Case(
            *(models.When(kind=kind, then=models.Value(i)) for i, kind in enumerate(KIND_ORDER)),
            default=models.Value(len(KIND_ORDER)),
        )
        return self.order_by("impact", rank, "opened_at", "pk")


class PagingProblem(models.Model):
    """One problem in an organization's paging, open while `resolved_at` is empty.

    Emails are claimed by compare-and-set on the row (`notified_at`, `last_notified_at`,
    `all_clear_sent_at`), so two processes reconciling at once never send one twice.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="paging_problems"
    )
    key = models.CharField(max_length=100, help_text="The problem's `health.Problem.key`.")
    kind = models.CharField(max_length=20, choices=[(k.value, k.value) for k in ProblemKind])
    # What it looks like, kept up to date while it is open.
    title = models.CharField(max_length=300)
    words = models.TextField(blank=True)
    fix_label = models.CharField(max_length=100)
    fix_url = models.CharField(max_length=500, help_text="A path on this site.")
    alerts = models.JSONField(default=list, blank=True, help_text="Alert names it affects.")
    silenced = models.JSONField(
        default=list, blank=True, help_text="Those of `alerts` that page nobody at all."
    )
    since = models.DateTimeField(null=True, blank=True, help_text="When it began, if known.")
    impact = models.PositiveSmallIntegerField(
        default=1,
        help_text="`health.Problem.impact`: 0 an open firing meets it, 1 alerts page through "
        "it, 2 nothing pages through it (not told as broken paging).",
    )
    opened_at = models.DateTimeField(default=timezone.now)
    # The emails: the first one, the latest one (first or reminder), the reminders' count.
    notified_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=300, blank=True, help_text="Why it is gone.")
    # Owed once people were told about it, unless another problem of the same thing took its
    # place (a failing service that PagerDuty now refuses): that one's email says it all.
    all_clear_due = models.BooleanField(default=False)
    all_clear_sent_at = models.DateTimeField(null=True, blank=True)
    # Who made it, or mended it, by a change of their own (`reconcile.update_rows` in their
    # request): it is on their screen already, so that email is not sent to them.
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    objects = PagingProblemQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_paging_problem_per_key",
            )
        ]
        indexes = [
            models.Index(
                fields=["organization"],
                condition=Q(all_clear_due=True, all_clear_sent_at__isnull=True),
                name="paging_problem_all_clear_due",
            ),
            models.Index(
                fields=["resolved_at"],
                condition=Q(resolved_at__isnull=False),
                name="paging_problem_resolved",
            ),
        ]
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return f"{self.title} ({'open' if self.is_open else 'fixed'})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def began(self) -> datetime:
        """When it began: as the engine saw it, else when we first saw it."""
        return self.since or self.opened_at

    @property
    def others(self) -> list[str]:
        """The affected alerts that still page some other service."""
        silenced = set(self.silenced)
        return [name for name in self.alerts if name not in silenced]


class QueuedCheck(models.Model):
    """An organization's paging check queued and not started yet, when no Redis is there to
    hold the mark (`tasks.reconcile_soon`): the row is claimed by insert or by a
    compare-and-set on `queued_at`, so processes sharing the database queue one run."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    queued_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"check of organization {self.organization_id} queued at {self.queued_at}"
