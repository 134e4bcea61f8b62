"""What the tests of "Mute 1 h" beside a firing's Resolve share: the alert "Checkout errors"
firing (the owner reads times in Paris), and the page's words and firing actions."""

from __future__ import annotations

import re

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing
from tests.tenant_objects import _pd_service


def checkout_alert(org: Organization) -> Alert:
    """The alert "Checkout errors", paging one service, with an open firing (no delivery
    yet); the owner reads times in Europe/Paris."""
    owner = org.memberships.get().user
    owner.time_zone = "Europe/Paris"
    owner.save()
    made = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    made.targets.add(_pd_service(org, owner))
    Firing.objects.create(organization=org, alert=made, count_at_open=3)
    return made


def text(html: bytes) -> str:
    """The page's words, tags dropped and spaces folded."""
    spaced = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))
    return re.sub(r" ([,.;:)])", r"\1", spaced)


def firing_actions(html: bytes) -> str:
    """The HTML of the actions beside the open firing (Resolve, Mute 1 h…)."""
    found = re.search(r'<div class="firing-actions">(.*?)</div>', html.decode(), re.S)
    assert found, "no actions beside the open firing"
    return found.group(1)
