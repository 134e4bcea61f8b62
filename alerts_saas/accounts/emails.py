from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse

from alerts_saas.accounts.models import Invitation


def send_invitation_email(request: HttpRequest, invitation: Invitation, token: str) -> None:
    """Email the one-time invitation link. The token is only ever in this email."""
    link = request.build_absolute_uri(reverse("accounts:invitation", kwargs={"token": token}))
    context = {
        "invitation": invitation,
        "link": link,
        "product": settings.PRODUCT_NAME,
        "inviter": invitation.invited_by.display_name if invitation.invited_by else "Someone",
    }
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation_message.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
