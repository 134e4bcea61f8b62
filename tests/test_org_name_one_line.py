"""An organization's name is one line of text: a line break (or a tab, or another control
character) is refused in words where a name is typed, when an organization is made (the
first one, right after signing up, too) and when it is renamed, since every email subject
and page title carries the name."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from alerts_saas.accounts.models import Organization, Role
from alerts_saas.accounts.services import create_organization

pytestmark = pytest.mark.django_db

REFUSED = [
    ("Acme\r\nOps", "this has a line break."),
    ("Acme\nOps", "this has a line break."),
    ("Acme\u2028Ops", "this has a line break."),
    ("Acme\tOps", "this has a tab."),
    ("Acme\x07Ops\nEast", "this has a control character (U+0007) and a line break."),
]


@pytest.mark.parametrize(("name", "words"), REFUSED)
def test_renaming_to_a_name_with_a_control_character_is_refused_in_words(
    make_org, name: str, words: str
) -> None:
    org = make_org("Acme")
    owner = Client()
    owner.force_login(org.memberships.get(role=Role.OWNER).user)
    page = owner.post(f"/o/{org.slug}/settings/", {"name": name, "slug": org.slug})
    assert page.status_code in (200, 400)
    assert f"Keep the name to one line of plain text; {words}" in page.content.decode()
    org.refresh_from_db()
    assert org.name == "Acme"


@pytest.mark.parametrize(("name", "words"), REFUSED[:1])
def test_the_first_organization_after_signing_up_is_refused_such_a_name(
    make_user, name: str, words: str
) -> None:
    person = Client()
    person.force_login(make_user("new@acme.example"))
    page = person.post("/orgs/new/", {"name": name, "slug": ""})
    assert page.status_code in (200, 400)
    assert f"Keep the name to one line of plain text; {words}" in page.content.decode()
    assert not Organization.objects.filter(memberships__user__email="new@acme.example").exists()


def test_a_plain_name_with_accents_and_punctuation_is_taken(make_user) -> None:
    """Guard: only control characters are refused."""
    person = Client()
    person.force_login(make_user("new@acme.example"))
    assert person.post("/orgs/new/", {"name": "Ops — Zürich & Co.", "slug": ""}).status_code == 302
    assert Organization.objects.get(name="Ops — Zürich & Co.")


def test_making_one_in_code_refuses_it_too(make_user) -> None:
    with pytest.raises(ValidationError, match="one line of plain text"):
        create_organization(make_user("new@acme.example"), "Acme\r\nOps")
    assert not Organization.objects.exists()
