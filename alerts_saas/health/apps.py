from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "alerts_saas.health"
    label = "health"
    verbose_name = "Health"
