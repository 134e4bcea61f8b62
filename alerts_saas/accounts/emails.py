from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from alerts_saas.accounts.models import Invitation
from alerts_saas.mail_subjects import one_line


def send_invitation_email(invitation: Invitation, token: str) -> None:
    """Email the one-time invitation link. The token is only ever in this email. The link is
    on SITE_URL, never on the Host the inviting request named (a forged one would send the
    token elsewhere)."""
    link = settings.SITE_URL + reverse("accounts:invitation", kwargs={"token": token})
    context = {
        "invitation": invitation,
        "link": link,
        "product": settings.PRODUCT_NAME,
        "inviter": invitation.invited_by.display_name if invitation.invited_by else "Someone",
    }
    subject = one_line(render_to_string("accounts/email/invitation_subject.txt", context))
    body = render_to_string("accounts/email/invitation_message.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
