"""Create the demo account on the first `make run`, and say how to sign in."""

from __future__ import annotations

import secrets
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from alerts_saas.accounts.models import User
from alerts_saas.accounts.services import create_organization

DEMO_EMAIL = "demo@tripwire.localhost"


class Command(BaseCommand):
    help = "Create a demo user and organization if they don't exist, and print how to sign in."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args: Any, url: str, **options: Any) -> None:
        credentials = settings.VAR_DIR / "demo-account.txt"
        if User.objects.filter(email=DEMO_EMAIL).exists() and credentials.exists():
            self.stdout.write(credentials.read_text())
            return
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            user, created = User.objects.get_or_create(email=DEMO_EMAIL)
            user.set_password(password)
            user.first_name = "Demo"
            user.save()
            EmailAddress.objects.update_or_create(
                user=user, email=DEMO_EMAIL, defaults={"verified": True, "primary": True}
            )
            if created:
                create_organization(user, "Demo Org", "demo")
        text = (
            f"\n  {settings.PRODUCT_NAME} is running at {url}\n"
            f"  Sign in as {DEMO_EMAIL} with password {password}\n"
            "  (or sign up: verification emails are printed in this console)\n\n"
        )
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        credentials.write_text(text)
        credentials.chmod(0o600)
        self.stdout.write(text)
