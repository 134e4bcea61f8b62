"""`{{ user|has_two_factor }}`: whether signing in asks this person for an app's code too."""

from __future__ import annotations

from allauth.mfa.utils import is_mfa_enabled
from django import template

from alerts_saas.accounts.models import User

register = template.Library()


@register.filter
def has_two_factor(user: User | object) -> bool:
    return isinstance(user, User) and is_mfa_enabled(user)
