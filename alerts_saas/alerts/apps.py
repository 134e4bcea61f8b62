from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class AlertsConfig(AppConfig):
    name = "alerts_saas.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from alerts_saas.alerts import changes
        from alerts_saas.alerts.models import Alert

        post_save.connect(changes.alert_changed, sender=Alert, dispatch_uid="alert-changed")
        post_delete.connect(changes.alert_changed, sender=Alert, dispatch_uid="alert-deleted")
