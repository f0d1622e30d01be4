"""Issue a personal API token (SPEC §8) and print its secret, once."""

from django.core.management.base import BaseCommand, CommandError

from ion_runs.accounts.models import ApiToken, User


class Command(BaseCommand):
    help = "Create an API token for a user and print its secret (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="what the token is for, e.g. “ERP import”")

    def handle(self, *args, username, name, **options):
        try:
            user = User.objects.get(username=username, is_active=True)
        except User.DoesNotExist as exc:
            raise CommandError(f"No active user named “{username}”.") from exc
        if not name.strip():
            raise CommandError("Give the token a name.")
        token, secret = ApiToken.issue(user=user, name=name.strip())
        self.stderr.write(f"Token “{token.name}” for {user.username}; the secret is not stored, copy it now:")
        self.stdout.write(secret)
