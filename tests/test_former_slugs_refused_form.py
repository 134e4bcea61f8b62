"""A settings form sent back with an error: Release still posts to the real address."""

from __future__ import annotations

import re

import pytest

from alerts_saas.accounts.models import FormerSlug, Organization
from tests.test_former_slugs import _rename

pytestmark = pytest.mark.django_db


def test_release_buttons_point_at_the_real_address_when_the_form_is_refused(
    admin_client, org: Organization
) -> None:
    """A new URL name typed with the name left empty: refused, nothing renamed. The page
    shown again must still post Release to the organization's real address (the refused
    form's slug was written on the tenant's organization by validation)."""
    old = org.slug
    _rename(admin_client, org, "acme-payments")
    response = admin_client.post(f"/o/{org.slug}/settings/", {"name": "", "slug": "acme-elsewhere"})
    assert response.status_code == 200
    org.refresh_from_db()
    assert org.slug == "acme-payments"
    page = response.content.decode()
    action = re.search(r'action="([^"]*/release/)"', page)
    assert action, "no Release form"
    assert action.group(1).startswith("/o/acme-payments/"), action.group(1)
    assert admin_client.post(action.group(1)).status_code == 302
    assert not FormerSlug.objects.filter(slug=old).exists()
