"""The alert form says beside each service whose path is broken what is wrong with it, in
the health code's words and without a query per service; saving an alert whose services
can't page still works, but says whom it pages until they are mended, and the alert is not
shown as a green OK (the list's state, the alert page's banner)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts_saas.accounts.models import Organization
from alerts_saas.alerts.models import Alert
from integrations.pagerduty.models import PagerDutyAccount, PagerDutyService
from integrations.pagerduty.paths import SERVICE_DELETED
from tests.tenant_objects import _pd_account

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _pasted(org: Organization, name: str, key: str, refused: bool = False) -> PagerDutyService:
    service = PagerDutyService.objects.create(
        organization=org, name=name, region="us", integration_key=key * 32
    )
    if refused:
        PagerDutyService.objects.filter(pk=service.pk).update(
            refused_at=timezone.now(), refused_detail="Invalid routing key"
        )
    return service


def _connected(org: Organization, name: str, n: int, **marks: object) -> PagerDutyService:
    account = PagerDutyAccount.objects.filter(organization=org).first()
    if account is None:
        account = _pd_account(org, org.memberships.get().user)
    service = PagerDutyService.objects.create(
        organization=org,
        account=account,
        pd_service_id=f"PSVC{n}",
        name=name,
        integration_id=f"PINT{n}",
        integration_key=str(n) * 32,
        created_integration=True,
    )
    if marks:
        PagerDutyService.objects.filter(pk=service.pk).update(**marks)
    return service


def _choice(page: str, service: PagerDutyService) -> str:
    """The label of the service's checkbox, in words."""
    at = page.index(f'name="targets" value="{service.pk}"')
    label = page[at : page.index("</label>", at)]
    return _text("<x " + label)


def test_the_form_says_beside_each_broken_service_what_is_wrong(
    admin_client: Client, org: Organization
) -> None:
    typo = _pasted(org, "Typo key", "1", refused=True)
    edge = _pasted(org, "Edge Gateway", "2")
    deleted = _connected(
        org, "Checkout API 001", 3, refused_at=timezone.now(), refused_detail=SERVICE_DELETED
    )
    failing = _connected(org, "Billing", 4, failing_since=timezone.now(), failing_detail="HTTP 500")
    page = admin_client.get(f"/o/{org.slug}/alerts/new/").content.decode()
    assert _choice(page, typo) == "Typo key (integration key) PagerDuty refuses its key"
    assert _choice(page, edge) == "Edge Gateway (integration key)"
    assert _choice(page, deleted).endswith("Checkout API 001 (PD of Acme Ops) deleted in PagerDuty")
    assert _choice(page, failing).endswith("Billing (PD of Acme Ops) deliveries to it are failing")
    PagerDutyAccount.objects.filter(organization=org).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT
    )
    page = admin_client.get(f"/o/{org.slug}/alerts/new/").content.decode()
    assert _choice(page, failing).endswith("Billing (PD of Acme Ops) account needs reconnecting")


def test_the_forms_queries_do_not_grow_with_broken_services(
    admin_client: Client, org: Organization
) -> None:
    working = _pasted(org, "Edge Gateway", "2")
    alert = Alert.objects.create(organization=org, name="Payments 5xx", threshold=5)
    alert.targets.add(working)
    _connected(org, "Checkout API 002", 2)  # the account exists either way
    url = f"/o/{org.slug}/alerts/{alert.pk}/edit/"
    admin_client.get(url)  # the session's first visit writes what later ones don't
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for n in range(3, 9):  # offered, not chosen: who they page is not asked
        _connected(
            org, f"Deleted {n}", n, refused_at=timezone.now(), refused_detail=SERVICE_DELETED
        )
    _pasted(org, "Typo key", "1", refused=True)
    with CaptureQueriesContext(connection) as many:
        page = admin_client.get(url).content.decode()
    assert page.count("deleted in PagerDuty") == 6 and "PagerDuty refuses its key" in page
    assert len(many.captured_queries) == len(few.captured_queries), "\n".join(
        q["sql"][:200] for q in many.captured_queries
    )


def _save(client: Client, org: Organization, form_data, targets: list[int]) -> str:
    response = client.post(f"/o/{org.slug}/alerts/new/", form_data(targets), follow=True)
    assert response.status_code == 200 and Alert.objects.filter(name="Checkout errors").exists()
    return response.content.decode()


def _flash(page: str) -> str:
    found = re.search(r'<div class="flash flash-(\w+)"[^>]*>(.*?)</div>', page, re.S)
    assert found, page
    return f"{found.group(1)}: {_text(found.group(2))}"


def _state_cell(page: str, alert: Alert) -> str:
    row = page[page.index(f'id="alert-{alert.pk}"') :]
    start = row.index(">", row.index('class="state-cell"')) + 1
    return row[start : row.index("</td>", start)]


def test_saving_with_only_a_refused_service_says_it_pages_nobody_and_is_not_a_green_ok(
    admin_client: Client, org: Organization, form_data
) -> None:
    typo = _pasted(org, "Typo key", "1", refused=True)
    page = _save(admin_client, org, form_data, [typo.pk])
    assert _flash(page) == (
        "warning: Alert “Checkout errors” saved. It pages nobody until Typo key is fixed: "
        "PagerDuty refuses its key."
    )
    alert = Alert.objects.get()
    cell = _state_cell(page, alert)
    assert "badge-bad" in cell and _text(cell) == "Pages nobody"
    detail = admin_client.get(f"/o/{org.slug}/alerts/{alert.pk}/").content.decode()
    banner = detail[detail.index('id="alert-state"') - 200 :]
    assert "state-nobody" in banner[: banner.index('id="alert-state"') + 20]
    assert "<h2>Pages nobody</h2>" in banner


def test_saving_with_a_deleted_and_a_working_service_names_the_one_that_pages(
    admin_client: Client, org: Organization, form_data
) -> None:
    edge = _pasted(org, "Edge Gateway", "2")
    deleted = _connected(
        org, "Checkout API 001", 3, refused_at=timezone.now(), refused_detail=SERVICE_DELETED
    )
    page = _save(admin_client, org, form_data, [edge.pk, deleted.pk])
    assert _flash(page) == (
        "warning: Alert “Checkout errors” saved. It pages only Edge Gateway until Checkout "
        "API 001 is replaced: deleted in PagerDuty."
    )
    cell = _state_cell(page, Alert.objects.get())
    assert "badge-ok" in cell and _text(cell) == "OK"  # one of its services pages


def test_saving_with_a_service_to_reconnect_says_pages_still_go_out_not_a_green_ok(
    admin_client: Client, org: Organization, form_data
) -> None:
    service = _connected(org, "Checkout API 002", 3)
    PagerDutyAccount.objects.filter(organization=org).update(
        status=PagerDutyAccount.Status.NEEDS_RECONNECT
    )
    page = _save(admin_client, org, form_data, [service.pk])
    assert _flash(page) == (
        "warning: Alert “Checkout errors” saved. Checkout API 002: account needs "
        "reconnecting; pages still go out through its key."
    )
    cell = _state_cell(page, Alert.objects.get())
    assert "badge-warn" in cell and _text(cell) == "OK"


def test_saving_with_working_services_says_only_saved(
    admin_client: Client, org: Organization, form_data
) -> None:
    edge = _pasted(org, "Edge Gateway", "2")
    page = _save(admin_client, org, form_data, [edge.pk])
    assert _flash(page) == "success: Alert “Checkout errors” saved."
    cell = _state_cell(page, Alert.objects.get())
    assert "badge-ok" in cell and _text(cell) == "OK"


def _asked(client: Client, org: Organization, form_data, targets: list[int]) -> str:
    """What "Send test alert…" asks before it sends."""
    data = form_data(targets)
    del data["confirm_test"]  # the first press
    page = client.post(f"/o/{org.slug}/alerts/test/", data).content.decode()
    at = page.index('id="test-confirm-pages"')
    return _text(page[page.index(">", at) + 1 : page.index("</p>", at)])


def test_a_test_alert_says_first_that_pagerduty_will_likely_refuse_it(
    admin_client: Client, org: Organization, form_data
) -> None:
    typo = _pasted(org, "Typo key", "1", refused=True)
    edge = _pasted(org, "Edge Gateway", "2")
    assert _asked(admin_client, org, form_data, [typo.pk]) == (
        "PagerDuty will likely refuse it for Typo key: PagerDuty refuses its key. This pages "
        "nobody, unless it was fixed in PagerDuty since: a test PagerDuty takes marks it "
        "working again. Send a test alert?"
    )
    assert _asked(admin_client, org, form_data, [typo.pk, edge.pk]) == (
        "PagerDuty will likely refuse it for Typo key: PagerDuty refuses its key. This pages "
        "whoever is on call for Edge Gateway now. Send a test alert?"
    )
    assert _asked(admin_client, org, form_data, [edge.pk]) == (
        "This pages whoever is on call for Edge Gateway now. Send a test alert?"
    )
