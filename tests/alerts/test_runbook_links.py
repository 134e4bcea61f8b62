"""An alert's runbook: the web addresses in its description are links on its page (http and
https only, escaped, opening apart from Tripwire), and go with its triggers in PagerDuty's
`links`, with the custom details whose value is an address; the sandbox takes them, and an
event trimmed to PagerDuty's 512 KB keeps them."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from alerts_saas.alerts import evaluation, firings
from alerts_saas.alerts.models import Alert, ConditionKind, CustomDetail
from alerts_saas.alerts.paging import trigger_payload
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.events import MAX_EVENT_BYTES
from integrations.pagerduty.models import Delivery, EventAction

pytestmark = pytest.mark.django_db

WIKI = "https://wiki.example/runbooks/checkout?team=payments&step=2"
GRAFANA = "http://grafana.example/d/abc_(prod)"
DESCRIPTION = (
    f"Checkout can't take cards. Runbook: {WIKI}. Graphs ({GRAFANA}) and "
    "javascript:alert(1) and <script>alert(2)</script> and <b>bold</b> and "
    'https://evil.example/"><img src=x onerror=alert(3)> and data:text/html,hi'
)


def _alert(org, service, **fields) -> Alert:
    alert = Alert.objects.create(
        organization=org, name="Checkout errors", threshold=1, description=DESCRIPTION, **fields
    )
    alert.targets.add(service)
    return alert


def test_the_alert_page_shows_the_descriptions_addresses_as_safe_links(
    org, make_service, admin_client
) -> None:
    alert = _alert(org, make_service())
    page = admin_client.get(alert.get_absolute_url()).content.decode()
    start = page.index('<p id="alert-description">')
    shown = page[start : page.index("</p>", start)]

    wiki = WIKI.replace("&", "&amp;")
    assert (
        f'Runbook: <a href="{wiki}" target="_blank" rel="noopener noreferrer">{wiki}</a>. ' in shown
    )
    assert (
        f'Graphs (<a href="{GRAFANA}" target="_blank" rel="noopener noreferrer">{GRAFANA}</a>)'
        in shown
    )
    evil = '<a href="https://evil.example/" target="_blank" rel="noopener noreferrer">'
    assert evil + "https://evil.example/</a>&quot;&gt;&lt;img src=x onerror=alert(3)&gt;" in shown
    # Nothing else is a link, and nothing typed is markup.
    assert shown.count("<a ") == 3
    assert "javascript:alert(1)" in shown and 'href="javascript' not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in shown and "<script>alert(2)" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in shown and "<img" not in shown
    assert "data:text/html,hi" in shown and 'href="data:' not in page
    form = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/edit/").content.decode()
    assert "A web address in it (a runbook, say) is a link there" in form


def test_a_firings_trigger_carries_them_in_links_and_pagerduty_takes_it(
    org, make_service, pagerduty, settings
) -> None:
    settings.SITE_URL = "https://tripwire.example"
    service = make_service()
    alert = _alert(
        org, service, kind=ConditionKind.ABSENCE, window_minutes=1, counting_since=timezone.now()
    )
    CustomDetail.objects.create(alert=alert, key="dashboard", value=" https://dash.example/x ")
    CustomDetail.objects.create(alert=alert, key="runbook", value=WIKI)  # the same: once
    CustomDetail.objects.create(alert=alert, key="team", value="payments, see https://t.example")
    assert evaluation.evaluate(now=time.time() + 61)["opened"] == 1

    [trigger] = Delivery.objects.filter(organization=org, event_action=EventAction.TRIGGER)
    engine.attempt_many([trigger.pk])
    [received] = pagerduty.events(dedup_key=trigger.dedup_key)
    assert received["status_code"] == 202
    assert received["body"]["links"] == [
        {
            "href": f"https://tripwire.example/o/{org.slug}/alerts/{alert.pk}/",
            "text": "“Checkout errors” in Tripwire",
        },
        {"href": WIKI, "text": "Runbook"},
        {"href": GRAFANA, "text": GRAFANA},
        {"href": "https://evil.example/", "text": "https://evil.example/"},
        {"href": "https://dash.example/x", "text": "dashboard"},
    ]


def test_links_survive_trimming_to_pagerdutys_512_kb(org, make_service, pagerduty) -> None:
    service = make_service()
    alert = _alert(org, service)
    firing = firings.open_firing(alert, 1, timezone.now())
    assert firing is not None
    payload, extra = trigger_payload(alert, 1, firing)
    payload["custom_details"]["recent_matching_events"] = ["x" * 1024] * 700  # 700 KB
    delivery = engine.build_event(
        service, EventAction.TRIGGER, "links-oversize", payload, extra=extra
    )
    assert "custom details trimmed" in delivery.trim_note
    [delivery] = engine.queue([delivery])
    engine.attempt_many([delivery.pk])
    [received] = pagerduty.events(dedup_key="links-oversize")
    assert received["status_code"] == 202
    assert len(received["raw"].encode()) <= MAX_EVENT_BYTES
    assert received["body"]["links"] == extra["links"]
    assert {"href": WIKI, "text": "Runbook"} in received["body"]["links"]


BROKEN = "Runbook: http://[fe80::1%eth0/ or http://[oops and http://a]b, then https://ok.example/r"


def test_an_address_python_cannot_parse_stays_text_and_the_alert_still_pages(
    org, make_service, admin_client, settings
) -> None:
    """`http://[oops` is no IPv6 host: urlsplit raises on it. It must stay text on the page
    and be left out of a trigger, not fail the page or the alert's every evaluation."""
    settings.SITE_URL = "https://tripwire.example"
    alert = Alert.objects.create(organization=org, name="Edge", threshold=1, description=BROKEN)
    alert.targets.add(make_service())
    CustomDetail.objects.create(alert=alert, key="graph", value="http://[broken")

    page = admin_client.get(alert.get_absolute_url())
    assert page.status_code == 200
    shown = page.content.decode()
    assert "http://[oops" in shown and 'href="http://[' not in shown
    assert '<a href="https://ok.example/r"' in shown

    links = trigger_payload(alert, 3)[1]["links"]
    assert [link["href"] for link in links][1:] == ["https://ok.example/r"]
