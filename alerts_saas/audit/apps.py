from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "alerts_saas.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from alerts_saas.audit import recorder, tracked, two_factor_off

        tracked.register_all()
        recorder.connect()
        two_factor_off.connect()
