"""Links that carry a secret or bring a browser back are built on SITE_URL, never on the Host
header of the request that made them: a Host the server accepts (several names allowed, a
proxy passing it on) but that is not the site would send PagerDuty's authorization code, or
an invitation's token, to whoever named it."""

from __future__ import annotations

import re

import pytest

from tests.pagerduty_fixtures import query

pytestmark = pytest.mark.django_db

SITE = "https://tripwire.example"
FORGED = "evil.example"


@pytest.fixture
def any_host(settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.SITE_URL = SITE


def test_the_oauth_redirect_uri_is_on_site_url_whatever_the_host(
    any_host, admin_client, org, pagerduty
) -> None:
    response = admin_client.post(
        f"/o/{org.slug}/settings/integrations/pagerduty/connect/", HTTP_HOST=FORGED
    )
    assert response.status_code == 302
    assert response["Location"].startswith(pagerduty.identity_url + "/oauth/authorize?")
    redirect_uri = query(response["Location"])["redirect_uri"]
    assert redirect_uri == f"{SITE}/integrations/pagerduty/callback"


def test_the_invitation_link_is_on_site_url_whatever_the_host(
    any_host, admin_client, org, mailoutbox
) -> None:
    admin_client.post(
        f"/o/{org.slug}/settings/members/invite/",
        {"email": "new@acme.example", "role": "member"},
        HTTP_HOST=FORGED,
    )
    [mail] = mailoutbox
    assert FORGED not in mail.body
    link = re.search(r"https://tripwire\.example(/invitations/[^\s]+/)", mail.body)
    assert link is not None
    assert admin_client.get(link.group(1)).status_code == 200


def test_allauths_email_links_are_on_site_url_whatever_the_host(
    any_host, client, make_user, mailoutbox
) -> None:
    make_user("ada@acme.example")
    client.post("/accounts/password/reset/", {"email": "ada@acme.example"}, HTTP_HOST=FORGED)
    client.post(
        "/accounts/signup/",
        {
            "email": "new@acme.example",
            "password1": "a-Long-pass-phrase-9",
            "password2": "a-Long-pass-phrase-9",
        },
        HTTP_HOST=FORGED,
    )
    reset, verify = mailoutbox
    for mail in (reset, verify):
        assert FORGED not in mail.body, mail.subject
        assert re.search(r"https://tripwire\.example/accounts/[^\s]+", mail.body), mail.body
