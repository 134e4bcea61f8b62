from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "alerts_saas.accounts"
    label = "accounts"
    verbose_name = "Accounts and organizations"
