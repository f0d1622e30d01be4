import io
import re

import pytest
from django.core.management import CommandError, call_command

from ion_runs.accounts.management.commands import create_organisation
from ion_runs.accounts.models import Organisation, User
from tests import factories

pytestmark = pytest.mark.django_db


def create(*args, **options) -> str:
    out = io.StringIO()
    call_command("create_organisation", *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def test_it_creates_the_organisation_and_its_first_admin(client):
    out = create("Initech", "--admin", "ada", "--email", "ada@initech.example")

    org = Organisation.objects.get(name="Initech")
    ada = User.objects.get(username="ada")
    assert ada.organisation == org
    assert ada.email == "ada@initech.example"
    assert ada.is_staff and ada.export_cleared and not ada.is_superuser
    assert list(ada.groups.values_list("name", flat=True)) == ["Admin"]
    assert ada.has_perm("runs.add_run") and ada.has_perm("accounts.change_user")

    password = re.search(r"One-time password for ada: (\S+)", out)[1]
    assert len(password) >= 16
    assert client.post("/accounts/login/", {"username": "ada", "password": password}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_it_prints_a_different_password_each_time():
    first = create("Initech", "--admin", "ada", "--email", "ada@initech.example", "--no-input")
    second = create("Globex", "--admin", "hank", "--email", "hank@globex.example", "--no-input")
    passwords = [re.search(r"One-time password for \w+: (\S+)", out)[1] for out in (first, second)]
    assert passwords[0] != passwords[1]


def test_it_prompts_for_the_password_on_a_terminal(monkeypatch):
    monkeypatch.setattr(create_organisation.sys.stdin, "isatty", lambda: True, raising=False)
    good = "a-long-factory-passphrase"
    answers = iter(["short", "short", good, "typo", good, good])
    monkeypatch.setattr(create_organisation.getpass, "getpass", lambda prompt: next(answers))

    out = create("Initech", "--admin", "ada", "--email", "ada@initech.example", "--password-prompt")

    assert "One-time password" not in out
    # "short" fails the validators and the typo the confirmation, so the third try is the one kept.
    assert User.objects.get(username="ada").check_password(good)


def test_the_prompt_needs_a_terminal(monkeypatch):
    monkeypatch.setattr(create_organisation.sys.stdin, "isatty", lambda: False, raising=False)
    with pytest.raises(CommandError, match="needs a terminal"):
        create("Initech", "--admin", "ada", "--email", "ada@initech.example", "--password-prompt")
    with pytest.raises(CommandError, match="needs a terminal"):
        create("Initech", "--admin", "ada", "--email", "a@initech.example", "--password-prompt", "--no-input")
    assert not Organisation.objects.filter(name="Initech").exists()


def test_it_refuses_an_existing_organisation():
    factories.OrganisationFactory(name="Initech")
    with pytest.raises(CommandError, match="organisation named “initech” already exists"):
        create("initech", "--admin", "ada", "--email", "ada@initech.example")
    assert not User.objects.filter(username="ada").exists()


def test_it_refuses_an_existing_username(org):
    factories.PlannerFactory(organisation=org, username="ada")
    with pytest.raises(CommandError, match="user named “Ada” already exists"):
        create("Initech", "--admin", "Ada", "--email", "ada@initech.example")
    assert not Organisation.objects.filter(name="Initech").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["  ", "--admin", "ada", "--email", "ada@initech.example"],
        ["Initech", "--admin", "ada lovelace", "--email", "ada@initech.example"],
        ["Initech", "--admin", "ada", "--email", "not-an-address"],
    ],
)
def test_it_refuses_bad_input(args):
    with pytest.raises(CommandError):
        create(*args)
    assert not User.objects.filter(email="ada@initech.example").exists()
    assert not Organisation.objects.filter(name="Initech").exists()
