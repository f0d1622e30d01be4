from django.core.management.base import BaseCommand

from ion_runs.jobs.expiry import expire_jobs


class Command(BaseCommand):
    help = "Delete jobs (and their files) finished more than a day ago; fail jobs whose worker stopped."

    def handle(self, *args, **options):
        failed, deleted = expire_jobs()
        self.stdout.write(f"{failed} silent job(s) failed, {deleted} expired job(s) deleted.")
