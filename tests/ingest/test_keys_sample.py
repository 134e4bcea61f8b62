"""The sample event a new key's "Try it" command sends (and the API docs' example batch): a
real event, so one an organization's ordinary alerts don't count, and the page names the
enabled alerts that would count it before anyone sends it."""

from __future__ import annotations

import html
import re
import shlex

import orjson
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts_saas.alerts.models import Alert, Firing, Level

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'id="new-key-secret" value="(twk_[A-Za-z0-9_-]+)"')
CURL = re.compile(r'<code id="new-key-curl">(.*?)</code>', re.S)
TRY = re.compile(r'<p id="new-key-try">(.*?)</p>', re.S)
UNREACHABLE = 10**6  # a threshold no test reaches: counting is asserted, nothing pages

# What a team watches: none of these should count a try of a key.
ORDINARY = {
    "Checkout errors": {"match_app": "checkout", "match_level": Level.ERROR},
    "Any error": {"match_level": Level.ERROR},
    "Payment failures": {"match_message": "Payment failed"},
    "Web-1 warnings": {"match_source": "web-1", "match_level": Level.WARNING},
    "EU errors": {"match_attribute": "region", "match_attribute_value": "eu-west-1"},
}
# What does count it: an alert on every event, and one on every app's info and up.
COUNTING = {
    "Every event": {},
    "Anything at info": {"match_level": Level.INFO},
}


def make(org, rules: dict[str, dict], **extra) -> list[Alert]:
    return [
        Alert.objects.create(organization=org, name=name, threshold=UNREACHABLE, **fields, **extra)
        for name, fields in rules.items()
    ]


def created_page(client, org) -> str:
    name = f"web servers {org.ingest_keys.count()}"
    made = client.post(f"/o/{org.slug}/settings/ingest-keys/create/", {"name": name})
    assert made.status_code == 302, made.status_code
    return client.get(made["Location"]).content.decode()


def sent(page: str) -> tuple[str, bytes]:
    """The key and the body the page's curl command sends, read from the command itself."""
    words = shlex.split(html.unescape(CURL.search(page).group(1)))
    header = words[words.index("-H") + 1]
    return header.removeprefix("Authorization: Bearer "), words[words.index("-d") + 1].encode()


def in_words(page: str) -> str:
    """The words beside the command, as read (tags dropped)."""
    text = re.sub(r"<[^>]+>", "", TRY.search(page).group(1))
    return " ".join(html.unescape(text).split())


def test_sending_the_pages_sample_counts_for_none_of_a_teams_ordinary_alerts(
    admin_client, org, counted
):
    ordinary = make(org, ORDINARY)
    counting = make(org, COUNTING)
    page = created_page(admin_client, org)
    secret, body = sent(page)

    answer = Client().post(
        "/api/v1/events",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert answer.status_code == 202 and answer.json()["accepted"] == 1
    assert {alert.name: counted(alert) for alert in ordinary} == dict.fromkeys(ORDINARY, 0)
    assert {alert.name: counted(alert) for alert in counting} == dict.fromkeys(COUNTING, 1)
    assert not Firing.objects.filter(alert__organization=org).exists()


def test_the_page_says_it_is_a_real_event_and_names_the_alerts_that_would_count_it(
    admin_client, org
):
    make(org, ORDINARY)
    make(org, COUNTING)
    make(org, {"Old catch-all": {}}, enabled=False)
    words = in_words(created_page(admin_client, org))
    assert "this sends one test event" not in words
    assert "app tripwire-example, level info" in words
    assert "It is a real event, not a test" in words
    assert "alerts whose conditions match it (for example one on every app) count it" in words
    # Named in order, the disabled one and the ordinary ones not at all.
    assert "Your alerts “Anything at info” and “Every event” would count it." in words
    for name in [*ORDINARY, "Old catch-all"]:
        assert name not in words


def test_one_alert_is_named_alone_and_none_is_said_so(admin_client, org):
    make(org, ORDINARY)
    assert "None of your enabled alerts would count it now." in in_words(
        created_page(admin_client, org)
    )
    make(org, {"Every event": {}})
    assert "Your alert “Every event” would count it." in in_words(created_page(admin_client, org))


def test_the_names_take_the_same_queries_however_many_alerts(admin_client, org):
    make(org, {f"Catch-all {i}": {} for i in range(3)})
    with CaptureQueriesContext(connection) as few:
        created_page(admin_client, org)
    make(org, {f"Catch-all {i}": {"match_level": Level.DEBUG} for i in range(3, 40)})
    with CaptureQueriesContext(connection) as many:
        words = in_words(created_page(admin_client, org))
    assert len(many) == len(few)
    assert "“Catch-all 0”, “Catch-all 1”, “Catch-all 10”, “Catch-all 11”, “Catch-all 12”" in words
    assert "and 35 more would count it." in words


def test_the_api_docs_example_counts_for_none_of_a_teams_ordinary_alerts(post_events, org, counted):
    ordinary = make(org, ORDINARY)
    catch_all = make(org, {"Every event": {}})
    document = orjson.loads(Client().get("/api/v1/openapi.json").content)
    example = document["paths"]["/api/v1/events"]["post"]["requestBody"]["content"][
        "application/json"
    ]["example"]
    assert post_events(example).status_code == 202
    assert {alert.name: counted(alert) for alert in ordinary} == dict.fromkeys(ORDINARY, 0)
    assert counted(catch_all[0]) == 1
    assert "is a real event when sent" in document["info"]["description"]
