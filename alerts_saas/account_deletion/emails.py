"""The email that confirms an account was deleted: sent to its address, plain text."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from alerts_saas.account_deletion.deletion import Plan
from alerts_saas.accounts.times import zone_of
from alerts_saas.mail_subjects import one_line

log = logging.getLogger(__name__)


def send_deleted_email(email: str, time_zone: str, done: Plan) -> bool:
    """Which organizations it left and which went with it; the time in the person's zone.
    Whether it was sent: the account is gone already, so a mail server that fails is logged
    and the page says no email went, rather than an error page."""
    context = {
        "product": settings.PRODUCT_NAME,
        "email": email,
        "when": timezone.localtime(timezone.now(), zone_of(time_zone)),
        "deleted": [o.name for o in done.deleted],
        "left": [m.organization.name for m in done.left],
    }
    subject = one_line(render_to_string("accounts/email/account_deleted_subject.txt", context))
    body = render_to_string("accounts/email/account_deleted_message.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
    except Exception:  # any backend's (smtplib's are OSErrors): the deletion is done
        log.exception("The email confirming an account's deletion could not be sent")
        return False
    return True
