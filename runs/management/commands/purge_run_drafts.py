import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from runs.models import RunDraft


class Command(BaseCommand):
    help = "Delete Review rows (run drafts) nobody has touched for a while."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="Untouched for this many days.")

    def handle(self, *args, days, **options):
        cutoff = timezone.now() - datetime.timedelta(days=days)
        deleted, _ = RunDraft.objects.filter(updated_at__lt=cutoff).delete()
        self.stdout.write(f"Deleted {deleted} run draft(s) untouched since {cutoff:%Y-%m-%d}.")
