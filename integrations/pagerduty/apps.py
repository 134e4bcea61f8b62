from django.apps import AppConfig


class PagerDutyConfig(AppConfig):
    name = "integrations.pagerduty"
    label = "pagerduty"
    verbose_name = "PagerDuty"
