"""The footer of every signed-in page says which time zone its times are in, whose choice
that is, and links to where it is changed: "Times are in Europe/Paris (your setting) ·
Change"."""

from __future__ import annotations

import re

import pytest

from alerts_saas.accounts.models import Organization
from alerts_saas.accounts.times import ZONE_COOKIE

pytestmark = pytest.mark.django_db


def _footer(client, path: str) -> tuple[str, str]:
    html = client.get(path).content.decode()
    found = re.search(r'<footer class="container site-footer">(.*?)</footer>', html, re.S)
    assert found, "no footer"
    [link] = re.findall(r'<a href="([^"]+)">', found.group(1))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()
    return text, link


def test_the_footer_names_the_zone_says_whose_setting_and_links_to_change_it(
    org: Organization, admin_client
) -> None:
    owner = org.memberships.get().user
    owner.time_zone = "Europe/Paris"
    owner.save()
    for path in (f"/o/{org.slug}/", f"/o/{org.slug}/alerts/", "/profile/"):
        text, link = _footer(admin_client, path)
        assert text.endswith("Times are in Europe/Paris (your setting) · Change"), text
        assert link == "/profile/#id_time_zone"
    profile = admin_client.get("/profile/").content.decode()
    assert 'id="id_time_zone"' in profile  # where the link lands

    owner.time_zone = ""
    owner.save()
    text, _ = _footer(admin_client, f"/o/{org.slug}/")
    assert text.endswith("Times are in UTC (you have not set a time zone) · Choose a time zone")
    admin_client.cookies[ZONE_COOKIE] = "America/New_York"
    text, _ = _footer(admin_client, f"/o/{org.slug}/")
    assert text.endswith(
        "Times are in America/New York, your browser's time zone (you have not set one) · "
        "Choose a time zone"
    )
