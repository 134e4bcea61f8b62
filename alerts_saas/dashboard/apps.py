from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "alerts_saas.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"
