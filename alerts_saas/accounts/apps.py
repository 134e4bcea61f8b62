from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "alerts_saas.accounts"
    label = "accounts"
    verbose_name = "Accounts and organizations"

    def ready(self) -> None:
        from alerts_saas.accounts import two_factor_audit

        two_factor_audit.connect()
