"""An account to reconnect is no broken path (its pages still go out), so it does not keep
the dashboard from saying which services have not taken a page on their current key yet;
and while an account needs reconnecting, the summary never says "Every paging path works"
(review must-fix 2)."""

from __future__ import annotations

import pytest

from integrations.pagerduty.models import PagerDutyAccount
from tests.dashboard.conftest import account, alert, delivery, service
from tests.dashboard.test_dashboard import part

pytestmark = pytest.mark.django_db
RECONNECT = (
    "1 PagerDuty account needs reconnecting: pages still go out; acknowledging and on-call "
    "from Tripwire stopped."
)


def test_an_untried_service_is_named_beside_an_account_to_reconnect(dashboard, org) -> None:
    stale = account(org, "Acme EU", status=PagerDutyAccount.Status.NEEDS_RECONNECT)
    billing = service(org, "Billing", account=stale, pd_service_id="PBILL")
    alert(org, "Invoices stuck", billing)
    delivery(org, billing)  # Billing took a page on its key
    alert(org, "Checkout errors", service(org, "Checkout API"))  # new: never paged

    page = dashboard()
    assert "Every paging path works" not in page
    assert part(page, "dashboard-summary") == (
        "Nothing is firing. No paging path is refused; 1 has not taken a page yet "
        f"(Checkout API). {RECONNECT}"
    )
    assert "No page has gone through the current integration key of Checkout API yet" in part(
        page, "untried-paths"
    )


def test_an_account_to_reconnect_is_not_every_path_working(dashboard, org) -> None:
    stale = account(org, "Acme EU", status=PagerDutyAccount.Status.NEEDS_RECONNECT)
    billing = service(org, "Billing", account=stale, pd_service_id="PBILL")
    alert(org, "Invoices stuck", billing)
    delivery(org, billing)

    page = dashboard()
    assert "Every paging path works" not in page and "Not tried yet" not in page
    assert part(page, "dashboard-summary") == (
        f"Nothing is firing. No paging path is refused. {RECONNECT}"
    )
