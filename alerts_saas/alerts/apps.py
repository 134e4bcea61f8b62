from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts_saas.alerts"
    label = "alerts"
    verbose_name = "Alerts"
