"""Alert list, the alert form (create and edit), enable/disable and delete."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from alerts_saas.accounts.access import TenantRequest, for_tenant, tenant_get, tenant_view
from alerts_saas.alerts import evaluation, firings, resolving
from alerts_saas.alerts.edit_conflict import Version, conflict
from alerts_saas.alerts.forms import AlertForm, BaseDetailFormSet, DetailFormSet
from alerts_saas.alerts.models import Alert
from alerts_saas.alerts.resolves import Resolves
from alerts_saas.alerts.target_words import saved_warnings
from alerts_saas.alerts.views import list_rows, listing
from alerts_saas.alerts.watching import watching_nothing
from alerts_saas.ids import as_id
from integrations.pagerduty.flow import ConnectFlow
from integrations.pagerduty.incidents.models import OnCallNow
from integrations.pagerduty.incidents.oncall import on_call
from integrations.pagerduty.left_open import left_open_of_tests
from integrations.pagerduty.models import Delivery, PagerDutyAccount, PagerDutyService
from integrations.pagerduty.panels import panels

log = logging.getLogger(__name__)


@tenant_view()
def alert_list(request: TenantRequest) -> HttpResponse:
    """The organization's alerts, a page at a time: firing ones first, then by name; found
    by name (`q`) and filtered by state (`state`), the page links keeping both."""
    search = listing.search_term(request.GET.get("q"))
    show = listing.Show.parse(request.GET.get("state"))
    counts = listing.counts(listing.annotated(for_tenant(request, Alert)), search)
    found: list[Alert] = []
    if counts.may_watch_nothing:  # else no read of the count store, nor query for it
        found = watching_nothing(listing.with_search(for_tenant(request, Alert), search)) or []
        counts = counts.watching(found)
    nothing = {alert.pk for alert in found}
    alerts = listing.annotated(for_tenant(request, Alert), nothing)
    page = listing.page_of(alerts, search, show, counts.shown[show], request.GET.get("page"))
    slug = request.tenant.organization.slug
    links = listing.Links(request.path, search, show)
    return render(
        request,
        "alerts/list.html",
        {
            "alerts": list_rows.rows(alerts, list(page.object_list), slug, timezone.now(), nothing),
            "page": page,
            "counts": counts,
            "firing_count": counts.firing,
            "search": search,
            "show": show,
            "found": show.found(counts.shown[show], search) if search else "",
            "filters": links.filters(counts),
            "watching_nothing_url": links.to("", listing.Show.NOTHING),
            "links": links,
            "previous_url": links.page(page.previous_page_number()) if page.has_previous() else "",
            "next_url": links.page(page.next_page_number()) if page.has_next() else "",
            # Only the "no alerts yet" state says whether a service is connected.
            "has_services": counts.total > 0 or for_tenant(request, PagerDutyService).exists(),
            "nav_section": "alerts",
        },
    )


def form_context(
    request: TenantRequest,
    form: AlertForm,
    details: BaseDetailFormSet,
    alert: Alert | None,
    test_deliveries: list[Delivery] | None = None,
    version: Version | None = None,
    **extra: object,
) -> dict[str, object]:
    """The form page's context. `version`: what the form carries for `edit_conflict`, by
    default what was posted (a test alert's re-render keeps it) or the alert's own."""
    if version is None:
        posted = request.method == "POST"
        version = Version.posted(request.POST) if posted else Version.of(alert)
    # Test alerts sent from this form before it was saved, to join the alert's history.
    carried = request.POST.getlist("test_delivery") if request.method == "POST" else []
    carried += [str(d.pk) for d in test_deliveries or []]
    shown = [*(test_deliveries or []), *_open_tests(extra)]  # the test panels, in order
    return {
        "form": form,
        "details": details,
        "alert": alert,
        "nav_section": "alerts",
        "has_services": for_tenant(request, PagerDutyService).exists(),
        # "Connect PagerDuty" opens these accounts' service pickers without a new consent.
        "pagerduty_accounts": list(
            for_tenant(request, PagerDutyAccount).filter(status=PagerDutyAccount.Status.ACTIVE)
        ),
        "target_on_call": _on_call(request, form, alert),
        "carried_tests": list(dict.fromkeys(carried)),
        "test_deliveries": test_deliveries or [],
        "version": version,
        **extra,
        # What the test panels show, read once for all panels: their test incidents and
        # PagerDuty's incidents (`panels`), and what their failed resolves left open.
        "test_panels": panels(shown),
        "left_open": left_open_of_tests(shown),
    }


def _open_tests(extra: dict[str, object]) -> list[Delivery]:
    shown = extra.get("open_tests")
    return [d for d in shown if isinstance(d, Delivery)] if isinstance(shown, list) else []


def _on_call(
    request: TenantRequest, form: AlertForm, alert: Alert | None
) -> list[tuple[PagerDutyService, OnCallNow | None]]:
    """Who each chosen service pages now (the chosen ones only: asking PagerDuty costs two
    calls a service, refreshed in the background)."""
    data = form.data
    chosen = (
        (data.getlist("targets") if isinstance(data, QueryDict) else None)
        if form.is_bound
        else None
    )
    services = for_tenant(request, PagerDutyService).order_by("name")
    if chosen is not None:
        services = services.filter(pk__in=[pk for pk in map(as_id, chosen) if pk is not None])
    elif alert is not None:
        services = services.filter(alerts=alert)
    else:
        return []
    shown = list(services.only("pk", "name", "account_id", "organization_id", "pd_service_id"))
    known = on_call(shown)
    return [(service, known.get(service.pk)) for service in shown]


def _adopt_test_deliveries(request: TenantRequest, alert: Alert) -> None:
    """Attach the test alerts sent from the unsaved form (and their resolves) to `alert`."""
    ids = [pk for pk in map(as_id, request.POST.getlist("test_delivery")) if pk is not None]
    if not ids:
        return
    tests = for_tenant(request, Delivery).filter(is_test=True, alert__isnull=True)
    keys = list(tests.filter(pk__in=ids).values_list("dedup_key", flat=True))
    tests.filter(dedup_key__in=keys).update(alert=alert)


def _restored(request: TenantRequest, alert: Alert | None) -> tuple[QueryDict, bool] | None:
    """The unsaved form left for "Connect PagerDuty", with the new services ticked."""
    restore = ConnectFlow(request.session).take_restore()
    if restore is None:
        return None
    form = restore.form
    targets = form.getlist("targets") + [str(pk) for pk in restore.services]
    form.setlist("targets", list(dict.fromkeys(targets)))
    return form, True


def _reevaluate(request: TenantRequest, alert: Alert) -> None:
    """Check the just-saved alert at once, in the saving transaction."""
    if not evaluation.reevaluate(alert, alert.counting_restarted):
        messages.warning(request, evaluation.UNCHECKED)


def _edit(request: TenantRequest, alert: Alert | None) -> HttpResponse:
    organization = request.tenant.organization
    restored = _restored(request, alert) if request.method == "GET" else None
    data = request.POST if request.method == "POST" else (restored[0] if restored else None)
    version = Version.posted(data) if data is not None else Version.of(alert)
    if request.method == "POST":
        with transaction.atomic():
            outcome = _save(request, alert, version)
        if isinstance(outcome, Alert):
            return _saved(request, outcome)
        form, details, status, version, changed = outcome
    else:
        instance = alert or Alert(organization=organization)
        form = AlertForm(data, instance=instance, organization=organization)
        details = DetailFormSet(data, instance=instance)
        status, changed = 200, None
    context = form_context(
        request, form, details, alert, restored=bool(restored), version=version, conflict=changed
    )
    return render(request, "alerts/form.html", context, status=status)


# The form to show again, its status and version, and what changed meanwhile (if that).
Refused = tuple[AlertForm, BaseDetailFormSet, int, Version, str | None]


def _save(request: TenantRequest, alert: Alert | None, version: Version) -> Alert | Refused:
    """Save the posted form, the alert locked and still the version the form was loaded
    at (`edit_conflict`); else what to show again (`Refused`)."""
    organization = request.tenant.organization
    if alert is not None:
        alert = tenant_get(request, _lockable(), pk=alert.pk)
        changed = conflict(alert, version, request.user.pk)
        if changed is not None:
            now = Version.of(alert)  # before the form reads the person's input into it
            form = AlertForm(request.POST, instance=alert, organization=organization)
            details = DetailFormSet(request.POST, instance=alert)
            return form, details, 409, now, changed
    instance = alert or Alert(organization=organization)
    form = AlertForm(request.POST, instance=instance, organization=organization)
    details = DetailFormSet(request.POST, instance=instance)
    if not (form.is_valid() and details.is_valid()):
        return form, details, 400, version, None
    try:
        with transaction.atomic():
            saved = form.save()
            details.instance = saved
            details.save()
            _adopt_test_deliveries(request, saved)
            _reevaluate(request, saved)
    except IntegrityError:
        # A concurrent save (another tab) took a name or detail key first.
        form.add_error(
            None,
            "This alert changed while you were editing it, perhaps in another tab. Nothing "
            "was saved: reload the page and make your change again.",
        )
        return form, details, 409, version, None
    return saved


def _lockable() -> QuerySet[Alert]:
    """The alert's own row locked, not its key (rows that refer to it are written
    meanwhile, DESIGN.md "Locks"), with what its version is made of."""
    return (
        Alert.objects.select_for_update(no_key=True, of=("self",))
        .select_related("organization")
        .prefetch_related("details", "targets")
    )


def _saved(request: TenantRequest, saved: Alert) -> HttpResponse:
    note = (
        " Counting starts afresh: events before now don't count for the new condition."
        if saved.counting_restarted
        else ""
    )
    # Saved even if no service of it can page (someone may be mending one right after),
    # but said: whom it pages until then.
    targets = list(saved.targets.select_related("account"))
    warnings = " ".join(saved_warnings(saved, targets))
    if warnings:
        messages.warning(request, f"Alert “{saved.name}” saved. {warnings}{note}")
    else:
        messages.success(request, f"Alert “{saved.name}” saved.{note}")
    return redirect(_list_page_of(request, saved))


def _list_page_of(request: TenantRequest, alert: Alert) -> str:
    """The alert list's page that shows `alert` (firing first, then by name, as the list
    orders them): a new alert past the first page is seen where it landed."""
    rows = listing.annotated(for_tenant(request, Alert))
    firing = rows.filter(Q(pk=alert.pk) & Q(is_firing=True)).exists()
    same = Q(is_firing=firing) & (Q(name__lt=alert.name) | Q(name=alert.name, pk__lt=alert.pk))
    before = rows.filter(same if firing else same | Q(is_firing=True)).count()
    path = reverse("alerts:list", args=[request.tenant.organization.slug])
    links = listing.Links(path, "", listing.Show.ALL)
    return links.page(before // listing.PAGE_SIZE + 1)


@tenant_view()
@require_http_methods(["GET", "POST"])
def alert_create(request: TenantRequest) -> HttpResponse:
    return _edit(request, None)


@tenant_view()
@require_http_methods(["GET", "POST"])
def alert_edit(request: TenantRequest, alert_id: int) -> HttpResponse:
    alert = tenant_get(request, Alert, pk=alert_id)
    return _edit(request, alert)


def _back(request: TenantRequest, alert: Alert | None = None) -> HttpResponse:
    """Back to the alert's page when the action came from there, else to the list (at the
    page, search and filter the action came from, if from the list)."""
    if alert is not None and request.POST.get("from") == "detail":
        return redirect(alert)
    path = reverse("alerts:list", args=[request.tenant.organization.slug])
    if request.POST.get("from") != "list":
        return redirect(path)
    search = listing.search_term(request.POST.get("q"))
    links = listing.Links(path, search, listing.Show.parse(request.POST.get("state")))
    return redirect(links.page(listing.page_number(request.POST.get("page"))))


@tenant_view()
@require_POST
def alert_toggle(request: TenantRequest, alert_id: int) -> HttpResponse:
    """Enable or disable. The form says which ("enabled" = 1 or 0), so a double click does
    not undo itself; without it, the state flips."""
    with transaction.atomic():
        alert = tenant_get(
            request,
            Alert.objects.select_for_update(no_key=True, of=("self",)).select_related(
                "organization"
            ),
            pk=alert_id,
        )
        wanted = request.POST.get("enabled")
        enable = (wanted == "1") if wanted in ("0", "1") else not alert.enabled
        if enable == alert.enabled:
            state = "enabled" if enable else "disabled"
            messages.info(request, f"Alert “{alert.name}” was already {state}.")
            return _back(request, alert)
        alert.enabled = enable
        still_open = [] if enable else firings.open_firings_of(alert)  # for the message
        resolves = resolving.resolves_of(still_open)  # what clearing them sends
        # A save, not an update: updated_at tells the ingest path to recompile its alerts,
        # and enabling restarts counting (nothing was counted while it was disabled).
        alert.save(update_fields=["enabled", "updated_at"])
        _reevaluate(request, alert)
    if enable:
        how = (
            "It waits one full window before it can fire."
            if alert.is_absence
            else "It counts matching events from now."
        )
        messages.success(request, f"Alert “{alert.name}” enabled. {how}")
    elif resolves.total:
        words = resolves.sent_words("open")
        messages.success(request, f"Alert “{alert.name}” disabled. {words}")
    elif still_open:
        messages.success(
            request,
            f"Alert “{alert.name}” disabled. No incident was open in PagerDuty for it, so "
            "nothing was sent there.",
        )
    else:
        messages.success(
            request, f"Alert “{alert.name}” disabled. It will not page until you enable it."
        )
    return _back(request, alert)


@tenant_view()
@require_http_methods(["GET", "POST"])
def alert_delete(request: TenantRequest, alert_id: int) -> HttpResponse:
    if request.method == "GET":
        alert = tenant_get(request, Alert, pk=alert_id)
        firing_now = firings.open_firings_of(alert)
        sends = resolving.resolves_of(firing_now)
        return render(
            request,
            "alerts/delete.html",
            {
                "alert": alert,
                "open_firings": firing_now,
                "resolves": sends,
                "delete_resolves": sends.will_words("Deleting it"),
                "nav_section": "alerts",
            },
        )
    with transaction.atomic():
        alert = tenant_get(request, Alert.objects.select_for_update(), pk=alert_id)
        name = alert.name
        # Which of its incidents Tripwire can't see, and why, read before they go.
        before = resolving.resolves_of(firings.open_firings_of(alert))
        open_firings, resolves = evaluation.delete(alert)
    if resolves:
        resolved = f" {Resolves.counted(resolves, before.unseen, before.why).sent_words('open')}"
    elif open_firings:
        resolved = " No incident was open in PagerDuty for it, so nothing was sent there."
    else:
        resolved = ""
    messages.success(request, f"Alert “{name}” deleted.{resolved} Its delivery history stays.")
    return _back(request)
