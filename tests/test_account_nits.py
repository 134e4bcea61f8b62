"""Small things said right: a 403 for a role too low is expected (a member opening an
admin's page), so the log gets one WARNING line, not a traceback; a former URL name says
when the organization was renamed, not a date that reads like an expiry."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
from django.test import Client

from alerts_saas.accounts.models import Membership, Organization

pytestmark = pytest.mark.django_db


def test_a_role_too_low_is_one_warning_line_without_traceback(
    acme_member_signed_in: tuple[Organization, Membership],
    client: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    org, member = acme_member_signed_in
    with caplog.at_level(logging.INFO):
        refused = client.get(f"/o/{org.slug}/settings/api-tokens/")
    assert refused.status_code == 403
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        f"403 GET /o/acme/settings/api-tokens/ (user {member.user_id}): "
        "This needs the admin role in Acme."
    ]
    assert warnings[0].exc_info is None


def test_a_former_url_name_says_when_it_was_renamed_not_an_expiry(
    make_org: Callable[..., Organization], client: Client
) -> None:
    from django.utils import timezone

    org = make_org("Acme")
    client.force_login(org.memberships.get().user)
    client.post(f"/o/{org.slug}/settings/", {"name": "Acme", "slug": "acme-ops"})
    page = client.get("/o/acme-ops/settings/").content.decode()
    text = re.sub(r"<[^>]+>", "", page)
    today = timezone.localdate().strftime("%-d %b %Y")
    assert f"/o/acme/ renamed on {today}; old links keep working until you release it" in text
