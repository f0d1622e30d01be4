from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ion_runs.accounts"
    label = "accounts"
    verbose_name = "Organisations and people"
