from django.apps import AppConfig


class PagerDutyConfig(AppConfig):
    name = "integrations.pagerduty"
    label = "pagerduty"
    verbose_name = "PagerDuty"

    def ready(self) -> None:
        # Register the tasks in every process (web included, not only workers), so that the
        # engine, which queues them by name (task_names.py), queues them through the task.
        from integrations.pagerduty import departures, tasks  # noqa: F401

        departures.connect()  # a connector leaving flags their accounts
