from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    """PagerDuty's side of a page: incidents told by webhooks, acted on through REST."""

    name = "integrations.pagerduty.incidents"
    label = "pagerduty_incidents"
    verbose_name = "PagerDuty incidents"

    def ready(self) -> None:
        from integrations.pagerduty.incidents import receivers, tasks  # noqa: F401
