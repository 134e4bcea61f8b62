""" "Send test alert" from the alert form, saved or not: asked first, then sent once.

The first press asks (`guarded_tests.confirmation`: who it pages, and how urgently, as far
as each service's urgency rule is known); nothing is sent until "Yes, send the test alert"
posts `confirm_test`. Without JavaScript the question is the form page again with an open
<dialog>; with it, the same fragment swapped in and shown as a modal. A test still open
from this form is not sent again to its service (`guarded_tests.open_tests`).
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from alerts_saas.accounts.access import TenantRequest, tenant_get, tenant_view
from alerts_saas.accounts.models import User
from alerts_saas.alerts import guarded_tests
from alerts_saas.alerts.forms import AlertForm, BaseDetailFormSet, DetailFormSet
from alerts_saas.alerts.models import Alert, ConditionKind
from alerts_saas.alerts.paging import trigger_extra
from alerts_saas.alerts.payload import draft_of, render_payload
from alerts_saas.alerts.target_words import test_refusals
from alerts_saas.alerts.views.definitions import form_context
from alerts_saas.audit.test_pages import record_test_pages
from alerts_saas.ids import as_id
from integrations.pagerduty import autoresolve
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import Delivery, EventAction, PagerDutyService
from integrations.pagerduty.samples import test_dedup_key


@tenant_view()
@require_POST
def send_test_alert(request: TenantRequest) -> HttpResponse:
    """Validate the form as it stands; then ask who it pages, or (confirmed) queue one test
    trigger per selected service without an open test, each with its automatic resolve
    (`autoresolve`). Form errors come back first; nothing is saved either way."""
    organization = request.tenant.organization
    alert = None
    alert_id = request.POST.get("alert_id", "")
    if alert_id:
        pk = as_id(alert_id)
        if pk is None:
            raise Http404("No such alert.")
        alert = tenant_get(request, Alert, pk=pk)
    instance = alert or Alert(organization=organization)
    form = AlertForm(request.POST, instance=instance, organization=organization)
    details = DetailFormSet(request.POST, instance=instance)
    extra: dict[str, object] = {"tested": True}
    deliveries: list[Delivery] = []
    valid = form.is_valid() and details.is_valid()
    if valid and "cancel_test" in request.POST:
        extra["test_note"] = "Nothing was sent."
    elif valid and request.POST.get("confirm_test") != "1":
        extra["confirm_test"] = True  # asked below, from who the chosen services page
    elif valid:
        deliveries, still_open = _send(request, form, details, alert)
        if still_open:
            extra["test_note"] = guarded_tests.refused_words(still_open)
            extra["open_tests"] = still_open
    context = form_context(
        request, form, details, alert, test_deliveries=deliveries, version=None, **extra
    )
    if context.get("confirm_test"):
        paths = context["target_on_call"]
        assert isinstance(paths, list)
        severity = str(form.cleaned_data["severity"])  # a test's, whatever the events
        # Said first: PagerDuty refuses some (the form's own services, health read).
        refused, words = test_refusals(list(form.cleaned_data["targets"]))
        paths = [(service, oc) for service, oc in paths if service.pk not in refused]
        context["confirm_test"] = guarded_tests.confirmation(paths, severity, words)
    if request.htmx:
        # The form body, errors and all, swapped in place: a 200, since in development
        # django-htmx replaces the whole document with any 400 (its debug error pages).
        return render(request, "alerts/_form_body.html", context)
    return render(request, "alerts/form.html", context, status=200 if valid else 400)


def _send(
    request: TenantRequest, form: AlertForm, details: BaseDetailFormSet, alert: Alert | None
) -> tuple[list[Delivery], list[Delivery]]:
    """Queue the test triggers; return them, and the open tests that held some back. Each
    carries the links a real trigger of the form as it stands would (`trigger_extra`). The
    services' rows are locked first, so two taps at once send one."""
    user = request.user
    assert isinstance(user, User)  # tenant_view lets only signed-in members in
    draft = draft_of(form.instance, details.pairs())
    # The example a real trigger would say: the threshold reached, or fewer than it seen.
    count = draft.threshold - (form.cleaned_data["kind"] == ConditionKind.ABSENCE)
    chosen = [s.pk for s in form.cleaned_data["targets"]]
    extra = trigger_extra(draft, alert)  # the links a real page carries (its runbook, say)
    with transaction.atomic():
        services = list(
            PagerDutyService.objects.select_for_update()
            .filter(organization=request.tenant.organization, pk__in=chosen)
            .order_by("pk")
        )
        still_open = guarded_tests.open_tests(services, alert, user)
        held = {d.service_id for d in still_open}
        deliveries = autoresolve.queue_tests(
            [
                engine.build_event(
                    service,
                    EventAction.TRIGGER,
                    test_dedup_key(),
                    render_payload(draft, count=count, test=True),
                    is_test=True,
                    extra=extra,
                    created_by=user,
                    alert=alert,
                )
                for service in services
                if service.pk not in held
            ]
        )
        where = f"the alert “{alert.name}”" if alert is not None else "a new alert, not saved"
        record_test_pages(deliveries, where)
    return deliveries, still_open
