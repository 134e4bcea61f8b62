from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "alerts_saas.ingest"
    label = "ingest"
    verbose_name = "Event ingest"

    def ready(self) -> None:
        from alerts_saas.ingest import departures

        departures.connect()
