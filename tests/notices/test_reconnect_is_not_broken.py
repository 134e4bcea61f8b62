"""An account that needs reconnecting is not paging broken: its pages still go out (they use
the services' integration keys). Everywhere it is said (the email's subject and body, the
banner, the dashboard, the problems page, Integrations, the alert list and page), the words
say what stopped, what still works and what to do, below a broken path in severity, and
without PagerDuty's OAuth words in the sentence."""

from __future__ import annotations

import html as markup
import re

import pytest
from django.core import mail

from alerts_saas.alerts.models import Alert
from alerts_saas.notices.reconcile import reconcile
from integrations.pagerduty import paths
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from tests.notices.banners import revoked

pytestmark = pytest.mark.django_db
JARGON = ("invalid_grant", "refresh access", "Paging is broken", "Paging broken")
DETAIL = "PagerDuty refused to refresh access (invalid_grant). Reconnect the account."


def _text(html: str) -> str:
    return " ".join(markup.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_email_says_pages_still_go_out_and_what_stopped(org) -> None:
    account, _alert = revoked(org, DETAIL)
    [email] = mail.outbox
    assert email.subject == (
        "[Tripwire] Reconnect PagerDuty in Acme Ops: acknowledging and on-call from Tripwire "
        "stopped; pages still go out"
    )
    assert email.body.startswith(
        "Pages still go out in Acme Ops, but PagerDuty withdrew Tripwire's access to an "
        "account. Stopped until you reconnect it: acknowledging and resolving from Tripwire, "
        "seeing who is on call, and incident updates through it."
    )
    assert f"PagerDuty account {account.name} needs reconnecting" in email.body
    assert "Alerts on its services, which still page: Checkout errors." in email.body
    assert f"Reconnect it in Integrations: http://127.0.0.1:8000/o/{org.slug}/" in email.body
    for word in JARGON:
        assert word not in email.body and word not in email.subject, word


def test_reconnecting_says_reconnected(org) -> None:
    account, _alert = revoked(org, DETAIL)
    PagerDutyAccount.objects.filter(pk=account.pk).update(status=PagerDutyAccount.Status.ACTIVE)
    reconcile(org)
    fixed = mail.outbox[-1]
    assert fixed.subject == f"[Tripwire] Reconnected in Acme Ops: PagerDuty account {account.name}"
    assert "The PagerDuty account was reconnected." in fixed.body


def test_a_reconnect_beside_a_broken_path_is_counted_apart(org) -> None:
    revoked(org, DETAIL)
    refused = PagerDutyService.objects.create(
        organization=org, name="Search", integration_key="1" * 32
    )
    Alert.objects.create(organization=org, name="Search errors", threshold=1).targets.add(refused)
    paths.record([paths.Outcome(refused.pk, refused=True, detail="Invalid routing key")])
    mail.outbox.clear()
    reconcile(org)
    assert (
        mail.outbox[-1].subject == "[Tripwire] Paging broken in Acme Ops: PagerDuty refuses Search"
    )


def test_the_banner_is_a_reconnect_notice_not_a_paging_problem(org, admin_client) -> None:
    account, _alert = revoked(org, DETAIL)
    page = _text(admin_client.get(f"/o/{org.slug}/settings/").content.decode())
    assert "Paging problem" not in page
    assert (
        f"Reconnect PagerDuty: PagerDuty account {account.name} needs reconnecting since"
    ) in page
    assert "Acknowledging and on-call from Tripwire stopped; pages still go out — " in page
    assert "Reconnect it in Integrations" in page


def test_the_dashboard_does_not_count_it_as_a_broken_path(org, admin_client) -> None:
    revoked(org, DETAIL)
    page = _text(admin_client.get(f"/o/{org.slug}/").content.decode())
    assert "broken paging path" not in page
    assert (
        "1 PagerDuty account needs reconnecting: pages still go out; acknowledging and "
        "on-call from Tripwire stopped."
    ) in page
    assert "PagerDuty to reconnect" in page  # the list's heading
    assert "Pages still go out (they use the services' integration keys)." in page
    assert "invalid_grant" not in page


def test_the_problems_page_says_pages_still_go_out(org, admin_client) -> None:
    revoked(org, DETAIL)
    page = _text(admin_client.get(f"/o/{org.slug}/problems/").content.decode())
    assert "page fewer people, or nobody" not in page
    assert "Pages still go out: nothing here stops an alert from paging." in page
    assert "Alerts on its services, which still page: Checkout errors." in page
    assert "invalid_grant" not in page


def test_integrations_says_what_stopped_and_keeps_pagerdutys_words_folded(
    org, admin_client
) -> None:
    account, _alert = revoked(org, DETAIL)
    html = admin_client.get(f"/o/{org.slug}/settings/integrations/").content.decode()
    page = _text(html)
    assert (
        f"PagerDuty account {account.name} needs reconnecting. Pages still go out (they use "
        "the services' integration keys). Stopped until it is reconnected: acknowledging and "
        "resolving from Tripwire, seeing who is on call, and incident updates through it. "
        "Its services can't be added or changed until then either."
    ) in page
    assert f"Reconnect {account.name}" in page
    assert "Needs reconnect " not in page and "PagerDuty refused to refresh access at" not in page
    # PagerDuty's own words stay, folded away from the sentence.
    details = re.search(r"<details>.*?</details>", html, re.S)
    assert details and "invalid_grant" in details.group(0)
    assert "invalid_grant" not in _text(html.replace(details.group(0), ""))
    assert "its account needs reconnecting, nobody else is paged" not in page
    assert "A service whose account needs reconnecting still pages through its key." in page


def test_the_alert_list_and_page_say_it_still_pages(org, admin_client) -> None:
    account, alert = revoked(org, DETAIL)
    listing = _text(admin_client.get(f"/o/{org.slug}/alerts/").content.decode())
    assert f"Account {account.name} to reconnect: pages still go out" in listing
    page = _text(admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode())
    assert f"Its PagerDuty account {account.name} needs reconnecting since" in page
    assert (
        "Pages still go out through its integration key; stopped until it is reconnected: "
        "acknowledging and resolving from Tripwire, seeing who is on call, and incident "
        "updates through it."
    ) in page
    for text in (listing, page):
        assert "invalid_grant" not in text and "Paging problem" not in text
