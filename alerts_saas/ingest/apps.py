from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "alerts_saas.ingest"
    label = "ingest"
    verbose_name = "Event ingest"
