"""Two-factor sign-in turned off, in the activity log of each organization that asks its
members for it: its admins see who can no longer open its pages, and when.

allauth.mfa says so with `authenticator_removed` (the authenticator app's, then the
recovery codes' it took along); the app's is the one that ends two-factor sign-in here
(settings.MFA_SUPPORTED_TYPES: an app with recovery codes).
"""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_removed

from alerts_saas.accounts.models import Membership
from alerts_saas.audit.models import Action
from alerts_saas.audit.recorder import record

TURNED_OFF = {"field": "two-factor sign-in", "before": "on", "after": "off"}


def _turned_off(sender: type, user: Any, authenticator: Authenticator, **_: Any) -> None:
    if authenticator.type != Authenticator.Type.TOTP:
        return
    asking = Membership.objects.filter(
        user_id=user.pk, organization__require_two_factor=True
    ).select_related("user")
    for membership in asking:
        record(membership, Action.CHANGED, [TURNED_OFF], force_new=True)


def connect() -> None:
    authenticator_removed.connect(_turned_off, dispatch_uid="audit-two-factor-turned-off")
