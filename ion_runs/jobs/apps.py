from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "ion_runs.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
