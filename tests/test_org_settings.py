"""Organization settings: the URL name's help says where the pages live, and its errors say
the same rule as its help."""

from __future__ import annotations

import html
import re

import pytest

from alerts_saas.accounts.models import Organization

pytestmark = pytest.mark.django_db


def _text(page: str) -> str:
    """The page as a person reads it: tags gone, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_the_url_name_help_shows_the_real_path(admin_client, org: Organization) -> None:
    page = admin_client.get(f"/o/{org.slug}/settings/").content.decode()
    shown = _text(page)
    assert "Lowercase letters, digits and hyphens, e.g. acme-ops." in shown
    assert f"Your pages live under /o/{org.slug}/." in shown
    assert "/o//" not in shown


def test_creating_an_organization_says_the_url_name_may_be_left_empty(admin_client) -> None:
    shown = _text(admin_client.get("/orgs/new/").content.decode())
    assert "Leave it empty to make one from the name." in shown


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("acme_ops", "Use only lowercase letters, digits and hyphens (e.g. acme-ops); this"),
        ("acme_ops", "(e.g. acme-ops); this has “_”."),
        ("acme ops!", "this has a space, “!”."),
        ("-acme--ops-", "Start and end with a letter or digit, with single hyphens between words"),
    ],
)
def test_a_url_name_outside_the_rule_is_refused_in_the_rules_words(
    admin_client, org: Organization, typed: str, error: str
) -> None:
    response = admin_client.post(f"/o/{org.slug}/settings/", {"name": org.name, "slug": typed})
    assert response.status_code == 200
    assert error in _text(response.content.decode())
    org.refresh_from_db()
    assert org.slug == "acme-ops"


def test_capitals_are_taken_as_lowercase(admin_client, org: Organization) -> None:
    response = admin_client.post(
        f"/o/{org.slug}/settings/", {"name": org.name, "slug": "Acme-Payments"}
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.slug == "acme-payments"
    assert response["Location"] == "/o/acme-payments/settings/"
