"""When a firing's triggers are read after they went on meanwhile (sent again, accepted),
no failed service is left to name: the dashboard then says what it knows without names, as
the email does, never "refused the trigger to ." (`Sent.named`, review should-fix 4)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from django.utils import timezone

from alerts_saas.alerts.paged import Sent
from alerts_saas.notices.emails import Digest
from tests.dashboard.test_dashboard import part
from tests.dashboard.test_missed_page_dashboard import _missed
from tests.dashboard.test_missed_page_names_service import _unconfirmed

pytestmark = pytest.mark.django_db


def _went_meanwhile(organization_id: int, firing_ids: Iterable[int]) -> dict[int, Sent]:
    """`sent_of` as read just after the firings' triggers were sent again and taken."""
    return {firing_id: Sent(triggers=2, accepted=1, accepted_own=1) for firing_id in firing_ids}


def test_no_names_read_says_it_without_names(dashboard, org, monkeypatch) -> None:
    _, refused = _missed(org, "Checkout errors")
    _, unanswered = _unconfirmed(org, "Search errors")
    monkeypatch.setattr("alerts_saas.dashboard.failures.sent_of", _went_meanwhile)
    monkeypatch.setattr("alerts_saas.notices.emails.sent_of", _went_meanwhile)

    page = dashboard()
    row = part(page, f"failure-{refused.pk}")
    assert "paged nobody: PagerDuty refused every trigger of that firing." in row, row
    row = part(page, f"failure-{unanswered.pk}")
    assert (
        "PagerDuty never confirmed it took that firing's trigger; it may not have paged anyone."
        in row
    ), row
    assert " to ." not in page and " to ;" not in page
    body = Digest(org, timezone.now()).body()
    assert "and paged nobody.\n" in body
    assert " to ." not in body and " to ;" not in body
    assert not Sent().named and Sent(refused_to=("A",)).named
