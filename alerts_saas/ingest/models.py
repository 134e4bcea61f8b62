"""Ingest keys, the bearer secrets a team's systems send events with; API tokens, those its
tools manage it with."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from alerts_saas.accounts.models import Membership, Organization, Role, User
from alerts_saas.audit import recorder as audit
from alerts_saas.audit.models import Action

KEY_PREFIX = "twk_"
TOKEN_PREFIX = "twa_"  # noqa: S105 (a prefix, not a secret)
# A secret's use is stamped at most this often (`Secret._stamp`).
STAMP_EVERY = timedelta(seconds=60)
# A revoked key that had a batch refused this recently is "still in use" (pages say so).
STILL_IN_USE = timedelta(hours=1)


def hash_key(secret: str) -> str:
    """SHA-256 is enough: keys are 256 random bits, not passwords a person chose."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Secret(models.Model):
    """A bearer secret of one organization: only its hash is kept, and its first characters
    (`hint`) to tell secrets apart; the secret itself is shown once, when it is made.
    Ingest keys and API tokens are both made, revoked and marked used this one way."""

    PREFIX = ""

    name = models.CharField(max_length=100, help_text="What sends with it, e.g. “web servers”.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(
        max_length=16,
        editable=False,
        help_text="The secret's first characters, to tell keys apart.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True
        # Active ones first, newest first; then revoked ones, the latest revoked first.
        ordering = [models.F("revoked_at").desc(nulls_first=True), "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def issue(
        cls, organization: Organization, name: str, created_by: User | None = None, **fields: Any
    ) -> tuple[Self, str]:
        """A new saved secret and its text, which is never stored and can't be shown again."""
        secret = cls.PREFIX + secrets.token_urlsafe(32)
        made = cls._default_manager.create(
            organization=organization,
            name=name,
            key_hash=hash_key(secret),
            hint=secret[: len(cls.PREFIX) + 6],
            created_by=created_by,
            **fields,
        )
        return made, secret

    def revoke(self, by: User | None, *, why: str = "", **fields: Any) -> bool:
        """Revoke it (compare-and-set: a second revoke changes nothing); `why`, when it
        was not a person's choice, is said in the audit log."""
        now = timezone.now()
        with transaction.atomic():
            done = (
                type(self)
                ._default_manager.filter(pk=self.pk, revoked_at__isnull=True)
                .update(revoked_at=now, revoked_by=by, **fields)
            )
            if done:
                self.revoked_at, self.revoked_by = now, by
                for name, value in fields.items():
                    setattr(self, name, value)
                # An update: no signal tells the audit log.
                reason = [{"field": "reason", "after": why}] if why else []
                audit.record(self, Action.REVOKED, reason)
        return bool(done)

    def touch(self) -> None:
        """Record use, at most once a minute each (compare-and-set), so that a busy secret
        doesn't write on every request."""
        self._stamp("last_used_at")

    def _stale(self, name: str, now: datetime | None = None) -> bool:
        """Whether the time field `name` is unset or a minute old: due a new stamp."""
        last = getattr(self, name)
        return last is None or last < (now or timezone.now()) - STAMP_EVERY

    def _stamp(self, *names: str, **also: Any) -> bool:
        """Set the time fields `names` to now, those less than a minute old left alone: one
        compare-and-set update for all that are stale, none when none is. `also` are more
        values for that same update (a count added to), written only with a stamp. True
        when this call wrote, False when none was due or another request stamped first."""
        now = timezone.now()
        cutoff = now - STAMP_EVERY
        stale = [n for n in names if self._stale(n, now)]
        if not stale:
            return False
        due = models.Q()
        for name in stale:
            due |= models.Q(**{f"{name}__isnull": True}) | models.Q(**{f"{name}__lt": cutoff})
        done = (
            type(self)
            ._default_manager.filter(due, pk=self.pk)
            .update(**dict.fromkeys(stale, now), **also)
        )
        for name in stale:
            setattr(self, name, now)
        return bool(done)


class IngestKey(Secret):
    """A key to post events to one organization."""

    PREFIX = KEY_PREFIX

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="ingest_keys"
    )
    # Made or revoked through the management API: by this token, not by a person.
    created_by_token = models.ForeignKey(
        "ApiToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_by_token = models.ForeignKey(
        "ApiToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # When `POST /events` last accepted events sent with it (at most a minute stale), where
    # `last_used_at` is also set by a change sent or a batch whose events were all refused:
    # what `revoke_effects` reads to say which key an alert's events came with.
    events_accepted_at = models.DateTimeField(null=True, blank=True)
    # Once revoked: when a batch sent with it was last refused (403), and about how many
    # were, written at most once a minute (`refusals.py`; up to a minute behind).
    refused_at = models.DateTimeField(null=True, blank=True)
    refused_batches = models.BigIntegerField(default=0, db_default=0)

    class Meta(Secret.Meta):
        pass

    def accepted_events(self) -> None:
        """Record use, and that events sent with it were accepted (each at most once a
        minute): one write for both, where `touch` and a second stamp were two."""
        self._stamp("last_used_at", "events_accepted_at")

    @property
    def refusal_due(self) -> bool:
        """Whether a refusal now would be written (`refused_at` a minute old or unset)."""
        return self._stale("refused_at")

    def record_refused(self, batches: int) -> bool:
        """Stamp `refused_at` and add `batches` to the count, in one compare-and-set update
        at most once a minute (as `touch`); False when another request stamped first."""
        return self._stamp("refused_at", refused_batches=models.F("refused_batches") + batches)

    @property
    def still_in_use(self) -> bool:
        """Revoked, and a batch sent with it was refused within STILL_IN_USE."""
        return self.refused_at is not None and self.refused_at >= timezone.now() - STILL_IN_USE

    @property
    def made_by(self) -> str:
        """Who made it, in words."""
        return _who(self.created_by, self.created_by_token)

    @property
    def revoked_by_whom(self) -> str:
        return _who(self.revoked_by, self.revoked_by_token)


def _who(user: User | None, token: ApiToken | None) -> str:
    if token is not None:
        return f"API token “{token.name}”"
    return user.display_name if user is not None else "a former member"


class Scope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Read and write"


class ApiToken(Secret):
    """A token for the management API (/api/v1/): reads, or reads and changes, one
    organization's alerts, services, history and ingest keys."""

    PREFIX = TOKEN_PREFIX

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_tokens"
    )
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.READ)
    # Why it was revoked when no one chose to (its creator left: `departures.py`).
    revoked_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta(Secret.Meta):
        pass

    @property
    def can_write(self) -> bool:
        return self.scope == Scope.WRITE

    def revoke(self, by: User | None, *, why: str = "", **fields: Any) -> bool:
        """As `Secret.revoke`; a `why` (no one chose it) is kept for the API's 401 too."""
        return super().revoke(by, why=why, revoked_reason=why, **fields)

    @staticmethod
    def creator_may_hold() -> models.Q:
        """Whether a token's creator is still an owner or admin of its organization, as a
        filter: a token acts for the person who made it, and never outlives their right to
        make one. A token whose creator was deleted was revoked then (`departures.py`)."""
        admins = Membership.objects.filter(
            organization=models.OuterRef("organization"),
            user=models.OuterRef("created_by"),
            role__in=(Role.OWNER, Role.ADMIN),
        )
        return models.Q(created_by__isnull=True) | models.Q(models.Exists(admins))


class IngestMinute(models.Model):
    """Events an organization sent in one minute, and the last one's time: its ingest
    activity where there is no Redis (the embedded default; see `activity.py`). Rows older
    than the hour shown are deleted as new minutes begin."""

    # The unique constraint's index leads with the organization: no index of its own.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    minute = models.BigIntegerField(help_text="Minutes since the Unix epoch.")
    events = models.BigIntegerField(default=0)
    # Of those, refused one by one (counted once the batch is judged: `activity.add_refused`).
    refused = models.BigIntegerField(default=0, db_default=0)
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "minute"], name="one_ingest_minute_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.events} events in minute {self.minute}"


class ChangeEvent(models.Model):
    """A deploy or configuration change an organization reported (POST /api/v1/changes):
    forwarded to PagerDuty as a change event (one Delivery per service) and drawn on the
    alert charts."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    ingest_key = models.ForeignKey(
        IngestKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    summary = models.CharField(max_length=1024)
    source = models.CharField(max_length=255, blank=True)
    timestamp = models.DateTimeField(help_text="When the change happened (as sent).")
    links = models.JSONField(default=list, blank=True)
    custom_details = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-timestamp", "-pk"]
        indexes = [
            # The charts read an organization's changes within a span of time.
            models.Index(fields=["organization", "timestamp"], name="ingest_change_time"),
            # Retention prunes the oldest, whatever the organization.
            models.Index(fields=["timestamp"], name="ingest_change_age"),
        ]

    def __str__(self) -> str:
        return self.summary[:80]

    @classmethod
    def on_chart(
        cls, organization_id: int, since: float, until: float, limit: int = 50
    ) -> list[dict[str, Any]]:
        """The latest `limit` changes between two epoch times, oldest first, as the alert
        chart draws them (one query)."""
        rows = (
            cls.objects.filter(
                organization_id=organization_id,
                timestamp__gte=datetime.fromtimestamp(since, UTC),
                timestamp__lte=datetime.fromtimestamp(until, UTC),
            )
            .order_by("-timestamp", "-pk")
            .values_list("timestamp", "summary", "source")[:limit]
        )
        return [
            {"at": at.timestamp(), "summary": summary, "source": source}
            for at, summary, source in reversed(rows)
        ]
