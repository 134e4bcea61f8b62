""" "Send test alert" from the alert form, saved or not."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from alerts_saas.accounts.access import TenantRequest, tenant_get, tenant_view
from alerts_saas.alerts.forms import AlertForm, DetailFormSet
from alerts_saas.alerts.models import Alert, ConditionKind
from alerts_saas.alerts.payload import draft_of, render_payload
from alerts_saas.alerts.views.definitions import form_context
from alerts_saas.alerts.views.params import as_id
from integrations.pagerduty import autoresolve
from integrations.pagerduty import delivery as engine
from integrations.pagerduty.models import EventAction
from integrations.pagerduty.samples import test_dedup_key


@tenant_view()
@require_POST
def send_test_alert(request: TenantRequest) -> HttpResponse:
    """Validate the form as it stands, then queue one test trigger per selected service (each
    with its automatic resolve: `autoresolve`).

    Form errors come back first; nothing is sent and nothing is saved either way.
    """
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
    deliveries = []
    if form.is_valid() and details.is_valid():
        draft = draft_of(form.instance, details.pairs())
        # What a real trigger would say: the threshold reached, or fewer than it seen.
        count = draft.threshold
        if form.cleaned_data["kind"] == ConditionKind.ABSENCE:
            count -= 1
        with transaction.atomic():
            deliveries = autoresolve.queue_tests(
                [
                    engine.build_event(
                        service,
                        EventAction.TRIGGER,
                        test_dedup_key(),
                        render_payload(draft, count=count, test=True),
                        is_test=True,
                        created_by=request.user,
                        alert=alert,
                    )
                    for service in form.cleaned_data["targets"]
                ]
            )
    context = form_context(request, form, details, alert, test_deliveries=deliveries, tested=True)
    if request.htmx:
        # The form body, errors and all, swapped in place: a 200, since in development
        # django-htmx replaces the whole document with any 400 (its debug error pages).
        return render(request, "alerts/_form_body.html", context)
    return render(request, "alerts/form.html", context, status=200 if deliveries else 400)
