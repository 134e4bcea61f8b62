from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "alerts_saas.notices"
    label = "notices"
    verbose_name = "Paging problems and notifications"

    def ready(self) -> None:
        from alerts_saas.notices import triggers

        triggers.connect()
