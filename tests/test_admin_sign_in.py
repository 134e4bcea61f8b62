"""Staff reach the admin only through the product's own sign-in: two-factor and its rate
limits apply to them too (the admin's password-only form would skip both)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from tests.two_factor import set_up_totp, sign_in_with_password, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_with_totp(make_user, make_org):
    staff = make_user("ops@tripwire.example")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    org = make_org("Acme", owner=staff)
    org.require_two_factor = True
    org.save()
    client = Client()
    sign_in_with_password(client, staff.email)
    secret, _codes = set_up_totp(client)
    return staff, org, secret


def test_the_admins_password_form_signs_nobody_in(staff_with_totp):
    staff, org, _secret = staff_with_totp
    client = Client()
    form = client.get("/admin/login/?next=/admin/")
    assert form.status_code == 302
    assert form["Location"].startswith("/accounts/login/?next=")
    posted = client.post(
        "/admin/login/?next=/admin/", {"username": staff.email, "password": PASSWORD}
    )
    assert posted.status_code == 302
    assert posted["Location"].startswith("/accounts/login/")
    assert client.get("/admin/").status_code == 302
    assert client.get(f"/o/{org.slug}/").status_code == 302


def test_staff_reach_the_admin_after_their_second_factor(staff_with_totp):
    staff, _org, secret = staff_with_totp
    client = Client()
    signed = client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD})
    assert signed["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/admin/").status_code == 302  # the password alone is not enough
    client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert client.get("/admin/").status_code == 200
