"""One audit entry: who changed what in an organization, when, from where, and how."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from alerts_saas.accounts.models import Organization


class Action(models.TextChoices):
    """What was done; each kind of object says it in its own words ("connected" for a
    service, "invited" for an invitation: `registry.Tracked.phrases`)."""

    CREATED = "created", "Created, connected or invited"
    CHANGED = "changed", "Changed"
    ENABLED = "enabled", "Enabled"
    DISABLED = "disabled", "Disabled"
    DELETED = "deleted", "Deleted, removed or disconnected"
    REVOKED = "revoked", "Revoked or withdrawn"
    ACCEPTED = "accepted", "Accepted (invitations)"


class ActorKind(models.TextChoices):
    USER = "user", "Person"
    TOKEN = "token", "API token"
    SYSTEM = "system", "System"


class Entry(models.Model):
    """A change as it was made. Names are copied (the actor's email, the object's name at
    the time), so an entry still reads the same after either is renamed or deleted.

    `changes` is a list of {"field", "before", "after"} (values in words, `None` for
    none; "text": true for text a person wrote, quoted in sentences), {"field", "secret":
    true} for a secret that changed (never its value), or {"field", "added": [...],
    "removed": [...]} for a set of related objects.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    actor_kind = models.CharField(max_length=6, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    actor_token_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=254, help_text="Email or token name at the time.")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    object_type = models.CharField(max_length=30)
    object_id = models.CharField(max_length=64)
    object_name = models.CharField(max_length=200)
    action = models.CharField(max_length=10, choices=Action.choices)
    changes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "entries"
        indexes = [
            # The Activity page and the API: newest first within an organization.
            models.Index(
                fields=["organization", "-created_at", "-id"], name="audit_entry_org_time"
            ),
            # Retention walks from the oldest.
            models.Index(fields=["created_at"], name="audit_entry_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_type} {self.object_name}"
