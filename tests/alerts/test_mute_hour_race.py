""" "Mute 1 h" clicked twice at once (two requests in flight together) makes one mute: the
second waits for the first's lock on the alert, then finds its window."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert, Firing, MuteWindow

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_clicks_at_once_make_one_mute(org: Organization) -> None:
    owner = org.memberships.get().user
    alert = Alert.objects.create(organization=org, name="Checkout errors", threshold=1)
    Firing.objects.create(organization=org, alert=alert, count_at_open=3)
    url = f"/o/{org.slug}/alerts/{alert.pk}/mute/hour/"
    start = threading.Barrier(2)
    codes: list[int] = []

    def click() -> None:
        client = Client()
        client.force_login(owner)
        start.wait()
        try:
            codes.append(client.post(url).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert codes == [302, 302]
    assert MuteWindow.objects.filter(alert=alert).count() == 1
