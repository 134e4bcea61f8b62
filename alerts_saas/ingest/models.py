"""Ingest keys: the bearer secrets a team's systems send events with."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from alerts_saas.accounts.models import Organization, User

KEY_PREFIX = "twk_"


def hash_key(secret: str) -> str:
    """SHA-256 is enough: keys are 256 random bits, not passwords a person chose."""
    return hashlib.sha256(secret.encode()).hexdigest()


class IngestKey(models.Model):
    """A key to post events to one organization. Only its hash is kept; the secret is
    shown once, when the key is made."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="ingest_keys"
    )
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
        # Active keys first, newest first; then revoked ones, the latest revoked first.
        ordering = [models.F("revoked_at").desc(nulls_first=True), "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def issue(
        cls,
        organization: Organization,
        name: str,
        created_by: User | None = None,
    ) -> tuple[IngestKey, str]:
        """A new saved key and its secret, which is never stored and can't be shown again."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            organization=organization,
            name=name,
            key_hash=hash_key(secret),
            hint=secret[: len(KEY_PREFIX) + 6],
            created_by=created_by,
        )
        return key, secret

    def revoke(self, by: User | None) -> bool:
        """Revoke the key (compare-and-set: a second revoke changes nothing)."""
        now = timezone.now()
        done = IngestKey.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=by
        )
        if done:
            self.revoked_at, self.revoked_by = now, by
        return bool(done)

    def touch(self) -> None:
        """Record use, at most once a minute per key, so busy keys don't write on every post."""
        now = timezone.now()
        cutoff = now - timedelta(seconds=60)
        if self.last_used_at is not None and self.last_used_at >= cutoff:
            return
        stale = models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lt=cutoff)
        IngestKey.objects.filter(stale, pk=self.pk).update(last_used_at=now)
        self.last_used_at = now


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
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "minute"], name="one_ingest_minute_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.events} events in minute {self.minute}"
