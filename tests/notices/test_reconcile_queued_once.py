"""Without Redis (`make run`: each process has its own cache), changes still queue at most
one paging check per organization: the mark is a database row the web processes and the
worker share, so a burst of changes leaves deliveries one check to wait behind, not one
per change."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from alerts_saas.celery import app
from alerts_saas.notices import tasks
from alerts_saas.notices.models import QueuedCheck


def _queued() -> list[int]:
    """The organizations of the paging checks waiting on the real broker."""
    found: list[int] = []
    with app.connection_for_write() as conn:
        queue = conn.SimpleQueue("celery", no_ack=True)
        try:
            while True:
                message = queue.get(block=False)
                if message.headers.get("task") == tasks.reconcile_organization.name:
                    found.append(int(message.headers["argsrepr"].strip("(),")))
        except queue.Empty:
            pass
        finally:
            queue.close()
    return found


@pytest.fixture
def broker() -> None:
    app.control.purge()


@pytest.mark.django_db
@override_settings(REDIS_URL="")
def test_many_changes_queue_one_check_per_organization(broker, make_org):
    acme, globex = make_org("Acme"), make_org("Globex")
    for _ in range(20):
        tasks.reconcile_soon(acme.pk)
    for _ in range(5):
        tasks.reconcile_soon(globex.pk)
    assert sorted(_queued()) == sorted([acme.pk, globex.pk])

    # Once the worker starts the check, a change after it queues the next one.
    tasks.reconcile_organization(acme.pk)
    for _ in range(3):
        tasks.reconcile_soon(acme.pk)
        tasks.reconcile_soon(globex.pk)
    assert _queued() == [acme.pk]


@pytest.mark.django_db
@override_settings(REDIS_URL="")
def test_a_mark_left_by_a_check_that_never_ran_expires(broker, make_org):
    acme = make_org("Acme")
    tasks.reconcile_soon(acme.pk)
    _queued()  # the message is lost
    tasks.reconcile_soon(acme.pk)
    assert _queued() == []
    QueuedCheck.objects.filter(organization=acme).update(
        queued_at=timezone.now() - timedelta(seconds=tasks.QUEUED_MARK_SECONDS + 1)
    )
    tasks.reconcile_soon(acme.pk)
    assert _queued() == [acme.pk]


@pytest.mark.django_db(transaction=True)
@override_settings(REDIS_URL="")
def test_changes_at_once_in_several_processes_queue_one_check(broker, make_org):
    acme = make_org("Acme")
    start = threading.Barrier(8)

    def change() -> None:
        try:
            start.wait()
            tasks.reconcile_soon(acme.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=change) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _queued() == [acme.pk]
