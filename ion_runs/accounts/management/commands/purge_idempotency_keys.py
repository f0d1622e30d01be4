from django.core.management.base import BaseCommand
from django.utils import timezone

from ion_runs.accounts.models import IdempotencyKey


class Command(BaseCommand):
    help = "Delete stored API answers for Idempotency-Key headers older than 24 hours (SPEC §8)."

    def handle(self, *args, **options):
        cutoff = timezone.now() - IdempotencyKey.KEPT_FOR
        deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(f"Deleted {deleted} idempotency key(s) older than {cutoff:%Y-%m-%d %H:%M}.")
