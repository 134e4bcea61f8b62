from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save


class AlertsConfig(AppConfig):
    name = "alerts_saas.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from alerts_saas.alerts import changes, mended, resolving, target_changes
        from alerts_saas.alerts.models import Alert
        from integrations.pagerduty.incidents.models import Incident
        from integrations.pagerduty.models import PagerDutyService
        from integrations.pagerduty.signals import paths_healed

        post_save.connect(changes.alert_changed, sender=Alert, dispatch_uid="alert-changed")
        post_delete.connect(changes.alert_changed, sender=Alert, dispatch_uid="alert-deleted")
        m2m_changed.connect(
            target_changes.sync_open_firings_on_service_side_change,
            sender=Alert.targets.through,
            dispatch_uid="alert-targets-sync-open-firing",
        )
        # A firing that waits for a person clears when PagerDuty resolves its incidents.
        post_save.connect(
            resolving.incident_saved, sender=Incident, dispatch_uid="firing-incident-resolved"
        )
        # A path that heals by itself pages what its failure kept from paging.
        paths_healed.connect(
            mended.page_healed, sender=PagerDutyService, dispatch_uid="alerts-paths-healed"
        )
