"""Start a production install: an organisation and its first admin, without the demo data."""

import getpass
import secrets
import sys

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from ion_runs.accounts.models import Organisation, User

ADMIN_GROUP = "Admin"


class Command(BaseCommand):
    help = (
        "Create an organisation and its first admin (staff, Admin group, export cleared). "
        "Prints a one-time password unless --password-prompt asks for one."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="the organisation's name")
        parser.add_argument("--admin", required=True, metavar="USERNAME", help="the first admin's username")
        parser.add_argument("--email", required=True, help="the first admin's email address")
        parser.add_argument(
            "--password-prompt",
            action="store_true",
            help="ask for the admin's password on the terminal instead of printing a generated one",
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="never prompt (a generated password is printed)",
        )

    def handle(self, *args, name, admin, email, password_prompt, interactive, **options):
        name = name.strip()
        if not name:
            raise CommandError("The organisation needs a name.")
        try:
            User.username_validator(admin)
            validate_email(email)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        # Case-insensitive, as Django's own user forms check: "Acme" and "acme" would be mistaken
        # for one another at login and in the admin.
        if Organisation.objects.filter(name__iexact=name).exists():
            raise CommandError(f"An organisation named “{name}” already exists; nothing was created.")
        if User.objects.filter(username__iexact=admin).exists():
            raise CommandError(f"A user named “{admin}” already exists; nothing was created.")
        try:
            admin_group = Group.objects.get(name=ADMIN_GROUP)
        except Group.DoesNotExist:
            raise CommandError(
                f"The “{ADMIN_GROUP}” group is missing: run `manage.py migrate` first."
            ) from None

        user = User(username=admin, email=email, is_staff=True, export_cleared=True)
        if password_prompt:
            if not interactive or not sys.stdin.isatty():
                raise CommandError(
                    "--password-prompt needs a terminal; leave it out to get a generated one-time password."
                )
            password = self.prompt_password(user)
        else:
            password = secrets.token_urlsafe(15)

        with transaction.atomic():
            user.organisation = Organisation.objects.create(name=name)
            user.set_password(password)
            user.save()
            user.groups.add(admin_group)

        self.stdout.write(
            self.style.SUCCESS(f"Created organisation “{name}” and its admin “{admin}” <{email}>.")
        )
        if not password_prompt:
            self.stdout.write(f"One-time password for {admin}: {password}")
            self.stdout.write(
                "It is shown only this once and stored only as a hash: log in with it and change it "
                "under Admin → Change password."
            )

    def prompt_password(self, user: User) -> str:
        while True:
            password = getpass.getpass(f"Password for {user.username}: ")
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("The two passwords differ.")
                continue
            try:
                validate_password(password, user)
            except ValidationError as error:
                self.stderr.write("\n".join(error.messages))
                continue
            return password
