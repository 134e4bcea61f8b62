"""The paging banner after a change made on these pages.

The banner reads the organization's open paging problems, which a queued run brings up to
date once a change commits: the page the person lands on right after deleting a broken
service, or mending one, would still show the problem it just removed. So these views say
so (`signals.changed_in_request`) before redirecting, and the notices app brings the rows
up to date at once; its queued run still sends the emails due.
"""

from __future__ import annotations

import logging

from alerts_saas.accounts.models import Organization
from integrations.pagerduty.signals import changed_in_request

log = logging.getLogger(__name__)


def problems_now(organization: Organization) -> None:
    """Have the organization's paging problems brought in line with what is broken now.
    The change is committed: a failure here only leaves the banner to the queued run."""
    for _receiver, result in changed_in_request.send_robust(
        sender=Organization, organization=organization
    ):
        if isinstance(result, Exception):
            log.error(
                "Updating the paging problems of organization %s failed",
                organization.pk,
                exc_info=result,
            )
