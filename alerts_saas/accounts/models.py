"""Users, organizations (the tenants), memberships and invitations."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from alerts_saas.accounts.names import one_line_name


class UserManager(BaseUserManager["User"]):
    """Users are identified by email; there is no username."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    # An IANA name (one of times.zones()); empty until the person chooses one: UTC is shown then.
    time_zone = models.CharField(max_length=64, blank=True, default="")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # The stubs type AbstractUser.objects as auth's UserManager; Django takes any manager.
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"

    @property
    def rank(self) -> int:
        return {Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= Role(other).rank

    @property
    def with_article(self) -> str:
        """'a member', 'an admin', 'an owner': the role in a sentence."""
        return {Role.MEMBER: "a member", Role.ADMIN: "an admin", Role.OWNER: "an owner"}[self]


class Organization(models.Model):
    name = models.CharField(max_length=100, validators=[one_line_name])
    slug = models.SlugField(max_length=50, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Checked on every page under /o/<slug>/ (accounts.two_factor); the API's tokens are not
    # people and are not asked.
    require_two_factor = models.BooleanField(
        "members must use two-factor sign-in",
        default=False,
        help_text="Everyone here, you too, signs in with a code from an authenticator app. "
        "Whoever has not set one up is asked to before seeing this organization's pages.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("dashboard:home", kwargs={"slug": self.slug})


class FormerSlug(models.Model):
    """A URL name an organization had before it was renamed. Links already sent with it (in
    PagerDuty incidents, emails) keep working: they lead its members to the new name
    (`former_slugs.moved_to`). No other organization takes it while it is remembered; an
    admin can release it (Settings -> General)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="former_slugs"
    )
    slug = models.SlugField(max_length=50, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)
    # Owners and admins are emailed when paging breaks in the organization, unless they turn
    # it off (the "Notifications" page); members keep theirs for when their role changes.
    email_paging_problems = models.BooleanField(
        "email me when paging breaks",
        default=True,
        help_text="An email when a problem starts, a daily reminder while it lasts, and one "
        "when it is fixed (owners and admins).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_org")
        ]
        ordering = ["organization__name", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def has_role(self, role: Role) -> bool:
        return self.role_enum.at_least(role)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self) -> InvitationQuerySet:
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """An email invitation to join an organization.

    Only a hash of the token is stored; the token itself exists in the email alone.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "email"])]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization}"

    @classmethod
    def issue(
        cls, organization: Organization, email: str, role: str, invited_by: User
    ) -> tuple[Invitation, str]:
        """Create an invitation and return it with its one-time token."""
        token = secrets.token_urlsafe(32)
        lifetime: timedelta = settings.INVITATION_LIFETIME
        invitation = cls.objects.create(
            organization=organization,
            email=email,
            role=role,
            token_hash=hash_token(token),
            invited_by=invited_by,
            expires_at=timezone.now() + lifetime,
        )
        return invitation, token

    @property
    def state(self) -> State:
        if self.accepted_at:
            return self.State.ACCEPTED
        if self.revoked_at:
            return self.State.REVOKED
        if self.expires_at <= timezone.now():
            return self.State.EXPIRED
        return self.State.PENDING

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING

    @property
    def role_words(self) -> str:
        """The role it gives, in a sentence: 'an admin'."""
        return Role(self.role).with_article

    def is_for(self, user: User) -> bool:
        """Whether `user` signs in with the address this invitation was sent to."""
        return user.email.lower() == self.email.lower()
