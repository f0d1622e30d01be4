"""Who gets what at every URL: an access matrix built from the URL resolver.

Every named URL pattern has an entry here saying how to build its URL from objects of one
organisation and what each role gets for a GET (and, for views that change things, a POST).
A pattern without an entry fails `test_every_named_url_is_in_the_matrix`, so a new view
cannot ship without deciding who may open it.

The roles each differ from the owner in one way, so a wrong answer points at one check:
the teammate does not own the drafts, the operator may not create runs, the uncleared user
is not export cleared, the outsider belongs to another organisation (and holds every
permission there, so only organisation scoping can stop them) and the staff member is the
organisation's admin. The organisation's part, procedure, unit and run are all export
controlled, so the uncleared user must get a 404 on each of them (SPEC §6).

The JSON API (`api:` names) is asked by the same roles with their API tokens instead of a
session: no token answers 401, never a login redirect.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from ion_runs.accounts.models import ApiToken
from ion_runs.jobs.models import Job, JobKind, JobStatus
from runs.models import Run, RunBatch, RunDraft
from tests import factories
from tests.runs.wizard_steps import WizardDriver

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "owner", "teammate", "operator", "uncleared", "outsider", "staff")

# Answers, as `answer()` names a response.
OK = "200"
CREATED = "201"
UNAUTHORIZED = "401"
INVALID = "422"
CONFLICT = "409"
FORBIDDEN = "403"
NOT_FOUND = "404"
NOT_ALLOWED = "405"
LOGIN = "login"  # 302 to the login page, with ?next= the requested path
ADMIN_LOGIN = "admin login"  # 302 to the admin's login page, with ?next= the requested path
TO_WIZARD = "→ runs:wizard-step"
TO_HOME = "→ home"
TO_POOL = "→ runs:pool"
TO_RUN = "→ runs:detail"
TO_BATCH = "→ runs:batch"
TO_API_TOKENS = "→ accounts:api-tokens"
TO_LOGIN_PAGE = "→ accounts:login"  # after logging out: the login page, nothing to come back to
ADMIN_MISSING = "→ admin:index"  # the admin's "doesn't exist. Perhaps it was deleted?" redirect


def answer(response, requested: str) -> str:
    """A response as one word of the matrix: its status, or where it redirects."""
    if response.status_code not in (301, 302):
        return str(response.status_code)
    target = urlsplit(response.url)
    back = parse_qs(target.query).get("next")
    if target.path == reverse("accounts:login") and back:
        return LOGIN if back == [requested] else f"login, next={back}"
    if target.path == reverse("admin:login") and back:
        return ADMIN_LOGIN if back == [requested] else f"admin login, next={back}"
    return f"→ {resolve(target.path).view_name}"


class World:
    """One organisation's objects and the people around them, made when a test first asks."""

    def __init__(self, org, other_org):
        self.org, self.other_org = org, other_org
        self.clients: dict[str, Client] = {}

    # -- people -----------------------------------------------------------------------

    @cached_property
    def owner(self):
        return factories.PlannerFactory(organisation=self.org, username="owner", export_cleared=True)

    @cached_property
    def teammate(self):
        return factories.PlannerFactory(organisation=self.org, username="teammate", export_cleared=True)

    @cached_property
    def operator(self):
        return factories.OperatorFactory(organisation=self.org, username="operator", export_cleared=True)

    @cached_property
    def uncleared(self):
        return factories.PlannerFactory(
            organisation=self.org, username="uncleared", groups=["Planner", "Operator"]
        )

    @cached_property
    def outsider(self):
        return factories.PlannerFactory(
            organisation=self.other_org,
            username="outsider",
            export_cleared=True,
            is_staff=True,
            groups=["Planner", "Operator", "Admin"],
        )

    @cached_property
    def staff(self):
        return factories.UserFactory(
            organisation=self.org, username="staff", export_cleared=True, is_staff=True, groups=["Admin"]
        )

    def client(self, role: str) -> Client:
        if role not in self.clients:
            self.clients[role] = Client()
            if role != "anonymous":
                self.clients[role].force_login(getattr(self, role))
        return self.clients[role]

    def api_client(self, role: str) -> Client:
        """A client sending the role's API token (none for the anonymous), never a session."""
        key = f"api {role}"
        if key not in self.clients:
            headers = {}
            if role != "anonymous":
                secret = ApiToken.issue(user=getattr(self, role), name="matrix")[1]
                headers["Authorization"] = f"Bearer {secret}"
            self.clients[key] = Client(headers=headers)
        return self.clients[key]

    # -- the organisation's things --------------------------------------------------------

    @cached_property
    def team(self):
        members = [self.owner, self.teammate, self.operator, self.uncleared]
        return factories.TeamFactory(organisation=self.org, name="Final Assembly", members=members)

    @cached_property
    def part(self):
        return factories.PartFactory(organisation=self.org, number="ITAR-BRKT-1", export_controlled=True)

    @cached_property
    def version(self):
        return factories.ReleasedVersionFactory(
            procedure__organisation=self.org, parts=[self.part], export_controlled=True, steps=1
        )

    @cached_property
    def step(self):
        return self.version.steps.get()

    @cached_property
    def unit(self):
        return factories.PartInventoryFactory(part=self.part, serial_number="SN-ITAR-1")

    @cached_property
    def run(self):
        """An open, unassigned run, as the owner's Create made it."""
        return factories.RunFactory(
            organisation=self.org,
            part=self.part,
            procedure_version=self.version,
            export_controlled=True,
            created_by=self.owner,
            creation_token=uuid.uuid4(),
        )

    @cached_property
    def bare_run(self):
        """An open, unassigned run of the same part created without a procedure ("add one later")."""
        return factories.RunFactory(
            organisation=self.org, part=self.part, export_controlled=True, created_by=self.owner
        )

    @cached_property
    def run_step(self):
        """Step 1 of the run, to do, with a number field and a file recorded on it."""
        step = factories.RunStepFactory(run=self.run, position=1, title="Torque cover")
        factories.RunStepFieldFactory(run_step=step, position=1, min_value=1, max_value=20)
        upload = factories.RunStepFieldFactory(run_step=step, position=2, label="Log", type="file")
        upload.file.save("torque.csv", ContentFile(b"nm,7\n"))
        upload.value = "torque.csv"
        upload.save()
        return step

    @cached_property
    def batch(self):
        return factories.RunBatchFactory(organisation=self.org)

    @cached_property
    def held_batch(self):
        """A batch holding the run: export controlled, so hidden from the uncleared as a whole."""
        batch = factories.RunBatchFactory(organisation=self.org, name="Held batch", created_by=self.owner)
        Run.objects.filter(pk=self.run.pk).update(batch=batch)
        return batch

    @cached_property
    def spare_run(self):
        """Another open run on the run's procedure version, in no batch."""
        return factories.RunFactory(
            organisation=self.org, part=self.part, procedure_version=self.version, export_controlled=True
        )

    @cached_property
    def attribute(self):
        return factories.RunAttributeDefinitionFactory(organisation=self.org)

    @cached_property
    def wizard(self) -> WizardDriver:
        """The owner's wizard, walked to Review: its steps hold data and it has left one row."""
        driver = WizardDriver(self.client("owner"))
        driver.author(part=self.part, procedure=self.version)
        return driver

    @cached_property
    def draft(self) -> RunDraft:
        self.wizard  # noqa: B018 — authoring the row is what makes it
        return RunDraft.objects.get(owner=self.owner)

    @cached_property
    def token(self):
        return ApiToken.issue(user=self.teammate, name="ERP")[0]

    @cached_property
    def export_job(self) -> Job:
        """The owner's finished export of the organisation's (controlled) runs, its file kept."""
        job = Job.objects.create(
            organisation=self.org,
            owner=self.owner,
            kind=JobKind.EXPORT,
            title="Export runs as CSV",
            status=JobStatus.DONE,
            finished_at=timezone.now(),
            result_name="runs.csv",
            export_controlled=True,
        )
        job.result_file.save("runs.csv", ContentFile(b"number,name\n1,ITAR\n"))
        return job

    @cached_property
    def import_job(self) -> Job:
        """The owner's finished import, whose rows went to the owner's Review."""
        return Job.objects.create(
            organisation=self.org,
            owner=self.owner,
            kind=JobKind.IMPORT,
            title="Import plan.csv (600 rows)",
            status=JobStatus.DONE,
            finished_at=timezone.now(),
            params={"wizard": "matrixwizard1", "upload": "gone.csv", "filename": "plan.csv"},
            result_data={"imported": 600, "invalid": 0, "batch_name": "", "filename": "plan.csv"},
        )

    @cached_property
    def planner_group(self):
        return Group.objects.get(name="Planner")

    @cached_property
    def access_attempt(self):
        return apps.get_model("axes", "AccessAttempt").objects.create(
            username="owner", ip_address="10.0.0.1", failures_since_start=1
        )

    @cached_property
    def access_log(self):
        return apps.get_model("axes", "AccessLog").objects.create(username="owner", ip_address="10.0.0.1")

    @cached_property
    def access_failure_log(self):
        return apps.get_model("axes", "AccessFailureLog").objects.create(
            username="owner", ip_address="10.0.0.1"
        )


@pytest.fixture
def world(org, other_org):
    return World(org, other_org)


def row(*answers: str) -> dict[str, str]:
    """One line of the matrix: the answers in the order of ROLES."""
    assert len(answers) == len(ROLES)
    return dict(zip(ROLES, answers, strict=True))


@dataclass(frozen=True)
class Entry:
    name: str
    url: Callable[[World], str]
    get: dict[str, str]
    variant: str = ""
    # For views that change things: what a POST gets, with which data, and what must stay
    # as it was whenever the POST is refused.
    post: dict[str, str] | None = None
    post_data: Callable[[World], dict] = field(default=lambda w: {})
    state: Callable[[World], object] = field(default=lambda w: None)
    # The JSON API: asked with the role's token, POSTs sent as JSON.
    api: bool = False
    # The method the changing request uses ("put" for the API's PUTs).
    write: str = "post"

    @property
    def id(self) -> str:
        return f"{self.name}[{self.variant}]" if self.variant else self.name


def wizard_step(step: str) -> Callable[[World], str]:
    return lambda w: reverse("runs:wizard-step", args=[w.wizard.wizard_id, step])


def draft_row_url(w: World) -> str:
    return reverse("runs:draft-row", args=[w.draft.pk]) + f"?wizard={w.wizard.wizard_id}"


def draft_state(w: World):
    draft = RunDraft.objects.filter(pk=w.draft.pk).values("removed_at", "data").first()
    return draft, RunDraft.objects.count()


def run_state(w: World):
    return Run.objects.filter(pk=w.run.pk).values("assigned_user", "assigned_team", "status").get()


def run_changes(w: World):
    """Everything the run page's actions change, and the batches' names and members."""
    run = Run.objects.filter(pk=w.run.pk)
    fields = ("name", "due_date", "assigned_user", "assigned_team", "batch", "status")
    return run.values(*fields).get(), list(
        RunBatch.objects.values_list("name", "runs").order_by("pk", "runs")
    )


def step_state(w: World):
    run = Run.objects.filter(pk=w.run.pk).values("assigned_user", "status").get()
    return run, list(w.run.steps.values_list("status", "fields__value"))


def procedure_state(w: World):
    """What adding a procedure changes: the procedure-less run's version, flag and steps."""
    run = Run.objects.filter(pk=w.bare_run.pk)
    return run.values("procedure_version", "export_controlled").get(), w.bare_run.steps.count()


def run_action(
    name: str,
    data: Callable[[World], dict],
    run: Callable[[World], Run] = lambda w: w.run,
    state: Callable[[World], object] = run_changes,
) -> Entry:
    """A run page action: planners only; the run is export controlled, so 404 to the uncleared."""
    return Entry(
        f"runs:{name}",
        lambda w: reverse(f"runs:{name}", args=[run(w).number]),
        row(LOGIN, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        post=row(LOGIN, TO_RUN, TO_RUN, FORBIDDEN, NOT_FOUND, NOT_FOUND, TO_RUN),
        post_data=data,
        state=state,
    )


# The wizard lives in the owner's session: anyone else opening the owner's wizard URL gets a
# wizard of their own under that id, so only its first step, never the owner's data.
NOT_REACHED = row(LOGIN, OK, TO_WIZARD, FORBIDDEN, TO_WIZARD, TO_WIZARD, TO_WIZARD)

# Each row() reads: anonymous, owner, teammate, operator, uncleared, outsider, staff.
APP_ENTRIES = [
    Entry("home", lambda w: reverse("home"), row(LOGIN, OK, OK, OK, OK, OK, OK)),
    Entry("accounts:login", lambda w: reverse("accounts:login"), row(OK, *[TO_HOME] * 6)),
    Entry(
        "accounts:logout",
        lambda w: reverse("accounts:logout"),
        row(*[NOT_ALLOWED] * 7),
        post=row(*[TO_LOGIN_PAGE] * 7),
    ),
    # Everyone who may read runs manages their own API tokens; a POST makes one for the poster.
    Entry(
        "accounts:api-tokens",
        lambda w: reverse("accounts:api-tokens"),
        row(LOGIN, OK, OK, OK, OK, OK, OK),
        post=row(LOGIN, OK, OK, OK, OK, OK, OK),
        post_data=lambda w: {"name": "matrix"},
    ),
    # The token is the teammate's: nobody else can see or revoke it, not even the staff member.
    Entry(
        "accounts:api-token-revoke",
        lambda w: reverse("accounts:api-token-revoke", args=[w.token.pk]),
        row(LOGIN, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
        post=row(LOGIN, NOT_FOUND, TO_API_TOKENS, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
        state=lambda w: ApiToken.objects.filter(pk=w.token.pk).values("revoked_at").get(),
    ),
    Entry("runs:list", lambda w: reverse("runs:list"), row(LOGIN, OK, OK, OK, OK, OK, OK)),
    Entry(
        "runs:detail",
        lambda w: reverse("runs:detail", args=[w.run.number]),
        row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    ),
    # A run's traveler and labels: whoever sees the run page.
    Entry(
        "runs:run-traveler",
        lambda w: reverse("runs:run-traveler", args=[w.run.number]),
        row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    ),
    Entry(
        "runs:run-labels",
        lambda w: reverse("runs:run-labels", args=[w.run.number]),
        row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    ),
    Entry("runs:my-work", lambda w: reverse("runs:my-work"), row(LOGIN, OK, OK, OK, OK, OK, OK)),
    # Jobs (SPEC §13): everyone has a list of their own; a job is its owner's and the
    # organisation's admin's, and its result only for those cleared to see what it holds.
    Entry("jobs:list", lambda w: reverse("jobs:list"), row(LOGIN, OK, OK, OK, OK, OK, OK)),
    Entry(
        "jobs:detail",
        lambda w: reverse("jobs:detail", args=[w.export_job.pk]),
        row(LOGIN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK),
    ),
    Entry(
        "jobs:download",
        lambda w: reverse("jobs:download", args=[w.export_job.pk]),
        row(LOGIN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK),
    ),
    # An import job's rows are on its owner's Review: nobody else lands there.
    Entry(
        "runs:import-landed",
        lambda w: reverse("runs:import-landed", args=[w.import_job.pk]),
        row(LOGIN, TO_WIZARD, NOT_FOUND, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ),
    # Only members see a team's queue; the staff member is not one.
    Entry(
        "runs:team-queue",
        lambda w: reverse("runs:team-queue", args=[w.team.pk]),
        row(LOGIN, OK, OK, OK, OK, NOT_FOUND, NOT_FOUND),
    ),
    Entry("runs:pool", lambda w: reverse("runs:pool"), row(LOGIN, OK, OK, OK, OK, OK, OK)),
    # Picking up is the operators' (and admins') job; planners may not.
    Entry(
        "runs:pick-up",
        lambda w: reverse("runs:pick-up", args=[w.run.number]),
        row(LOGIN, FORBIDDEN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        post=row(LOGIN, FORBIDDEN, FORBIDDEN, TO_POOL, NOT_FOUND, NOT_FOUND, TO_POOL),
        state=run_state,
    ),
    Entry("runs:schedule", lambda w: reverse("runs:schedule"), row(LOGIN, OK, OK, OK, OK, OK, OK)),
    # After creation (SPEC §9): planners change runs and batches; operators only look.
    run_action("run-reassign", lambda w: {"reassign-assignee": f"team:{w.team.pk}"}),
    run_action("run-due-date", lambda w: {"due-due_date": "2026-12-24"}),
    run_action("run-rename", lambda w: {"rename-name": "Renamed by the matrix"}),
    run_action("run-batch", lambda w: {"batch-batch": w.batch.name}),
    run_action("run-cancel", lambda w: {"cancel-reason": "Canceled by the matrix"}),
    run_action(
        "run-procedure",
        lambda w: {"procedure-procedure": w.version.pk},
        run=lambda w: w.bare_run,
        state=procedure_state,
    ),
    # Working the run's steps (SPEC §12): planners, admins and, on this pool run, operators,
    # whose start picks the run up. Hidden from the uncleared (export control) and outsiders.
    Entry(
        "runs:step-action",
        lambda w: reverse("runs:step-action", args=[w.run_step.run.number, 1, "start"]),
        row(LOGIN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        post=row(LOGIN, TO_RUN, TO_RUN, TO_RUN, NOT_FOUND, NOT_FOUND, TO_RUN),
        state=step_state,
    ),
    Entry(
        "runs:step-file",
        lambda w: reverse("runs:step-file", args=[w.run_step.run.number, 1, 2]),
        row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    ),
    # Reopening a complete run is the admin's; this run is not complete, which the staff
    # member is told (409) with nothing changed.
    Entry(
        "runs:run-reopen",
        lambda w: reverse("runs:run-reopen", args=[w.run.number]),
        row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED),
        post=row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND, CONFLICT),
        post_data=lambda w: {"reopen-run-reason": "Reopened by the matrix"},
        state=step_state,
    ),
    # Every role lists its own organisation's batches; a batch holding the controlled run is
    # hidden from the uncleared (tests/runs/test_batches.py checks which batches).
    Entry("runs:batches", lambda w: reverse("runs:batches"), row(LOGIN, OK, OK, OK, OK, OK, OK)),
    Entry(
        "runs:batch",
        lambda w: reverse("runs:batch", args=[w.held_batch.pk]),
        row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    ),
    # A batch's travelers and labels: whoever sees the batch page.
    Entry(
        "runs:batch-travelers",
        lambda w: reverse("runs:batch-travelers", args=[w.held_batch.pk]),
        row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    ),
    Entry(
        "runs:batch-labels",
        lambda w: reverse("runs:batch-labels", args=[w.held_batch.pk]),
        row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    ),
    # Anyone who may plan makes a batch in their own organisation; a GET shows the form again
    # (the address a refused name leaves in the browser).
    Entry(
        "runs:batch-new",
        lambda w: reverse("runs:batch-new"),
        row(LOGIN, OK, OK, FORBIDDEN, OK, OK, OK),
        post=row(LOGIN, TO_BATCH, TO_BATCH, FORBIDDEN, TO_BATCH, TO_BATCH, TO_BATCH),
        post_data=lambda w: {"name": "Matrix batch"},
        state=lambda w: RunBatch.objects.count(),
    ),
    Entry(
        "runs:batch-rename",
        lambda w: reverse("runs:batch-rename", args=[w.held_batch.pk]),
        row(LOGIN, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        post=row(LOGIN, TO_BATCH, TO_BATCH, FORBIDDEN, NOT_FOUND, NOT_FOUND, TO_BATCH),
        post_data=lambda w: {"name": "Renamed by the matrix"},
        state=run_changes,
    ),
    Entry(
        "runs:batch-add",
        lambda w: reverse("runs:batch-add", args=[w.held_batch.pk]),
        row(LOGIN, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        post=row(LOGIN, TO_BATCH, TO_BATCH, FORBIDDEN, NOT_FOUND, NOT_FOUND, TO_BATCH),
        post_data=lambda w: {"runs": [w.spare_run.number]},
        state=run_changes,
    ),
    Entry(
        "runs:batch-remove",
        lambda w: reverse("runs:batch-remove", args=[w.held_batch.pk, w.run.number]),
        row(LOGIN, NOT_ALLOWED, NOT_ALLOWED, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        post=row(LOGIN, TO_BATCH, TO_BATCH, FORBIDDEN, NOT_FOUND, NOT_FOUND, TO_BATCH),
        state=run_changes,
    ),
    Entry(
        "runs:new",
        lambda w: reverse("runs:new"),
        row(LOGIN, TO_WIZARD, TO_WIZARD, FORBIDDEN, TO_WIZARD, TO_WIZARD, TO_WIZARD),
    ),
    Entry(
        "runs:new",
        lambda w: reverse("runs:new") + f"?procedure={w.version.pk}",
        row(LOGIN, TO_WIZARD, TO_WIZARD, FORBIDDEN, NOT_FOUND, NOT_FOUND, TO_WIZARD),
        variant="from a procedure",
    ),
    Entry(
        "runs:new",
        lambda w: reverse("runs:new") + f"?inventory={w.unit.pk}",
        row(LOGIN, TO_WIZARD, TO_WIZARD, FORBIDDEN, NOT_FOUND, NOT_FOUND, TO_WIZARD),
        variant="from a unit",
    ),
    Entry(
        "runs:wizard-step",
        wizard_step("source"),
        row(LOGIN, OK, OK, FORBIDDEN, OK, OK, OK),
        variant="source",
        post=row(LOGIN, TO_WIZARD, TO_WIZARD, FORBIDDEN, TO_WIZARD, TO_WIZARD, TO_WIZARD),
        post_data=lambda w: {f"{w.wizard.prefix}-current_step": "source", "source-source": "build"},
    ),
    Entry("runs:wizard-step", wizard_step("part"), NOT_REACHED, variant="part"),
    Entry("runs:wizard-step", wizard_step("identify"), NOT_REACHED, variant="identify"),
    Entry("runs:wizard-step", wizard_step("details"), NOT_REACHED, variant="details"),
    # Review lists the requester's own rows (none, for everyone but the owner) and always answers.
    Entry(
        "runs:wizard-step",
        wizard_step("review"),
        row(LOGIN, OK, OK, FORBIDDEN, OK, OK, OK),
        variant="review",
    ),
    Entry(
        "runs:wizard-step",
        wizard_step("done"),
        row(LOGIN, TO_WIZARD, TO_WIZARD, FORBIDDEN, TO_WIZARD, TO_WIZARD, TO_WIZARD),
        variant="done",
    ),
    # A row is its owner's alone, whoever else may create runs.
    Entry(
        "runs:draft-row",
        lambda w: draft_row_url(w) + "&mode=edit",
        row(LOGIN, OK, NOT_FOUND, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND),
        post=row(LOGIN, TO_WIZARD, NOT_FOUND, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND),
        post_data=lambda w: {"action": "remove"},
        state=draft_state,
    ),
    Entry(
        "runs:created",
        lambda w: reverse("runs:created", args=[w.run.creation_token]),
        row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    ),
    # The travelers and labels of the runs just created: whoever sees the created page.
    Entry(
        "runs:created-travelers",
        lambda w: reverse("runs:created-travelers", args=[w.run.creation_token]),
        row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    ),
    Entry(
        "runs:created-labels",
        lambda w: reverse("runs:created-labels", args=[w.run.creation_token]),
        row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    ),
    # Importing puts rows on the importer's own Review; the organisation's part is export
    # controlled, so the uncleared user's and the outsider's row lands with its problem.
    Entry(
        "runs:import",
        lambda w: reverse("runs:import"),
        row(LOGIN, OK, OK, FORBIDDEN, OK, OK, OK),
        post=row(LOGIN, TO_WIZARD, TO_WIZARD, FORBIDDEN, TO_WIZARD, TO_WIZARD, TO_WIZARD),
        post_data=lambda w: {
            "file": SimpleUploadedFile(
                "runs.csv", f"part.number,part.revision\n{w.part.number},{w.part.revision}\n".encode()
            )
        },
        state=lambda w: RunDraft.objects.count(),
    ),
    Entry(
        "runs:import-template",
        lambda w: reverse("runs:import-template", args=["xlsx"]),
        row(LOGIN, OK, OK, FORBIDDEN, OK, OK, OK),
    ),
    # An export holds what the Runs page shows each role (tests/runs/test_export.py checks which runs).
    Entry("runs:export", lambda w: reverse("runs:export", args=["csv"]), row(LOGIN, OK, OK, OK, OK, OK, OK)),
    Entry(
        "runs:export",
        lambda w: reverse("runs:export", args=["xlsx"]),
        row(LOGIN, OK, OK, OK, OK, OK, OK),
        variant="xlsx",
    ),
    Entry("procedures:list", lambda w: reverse("procedures:list"), row(LOGIN, OK, OK, OK, OK, OK, OK)),
    Entry(
        "procedures:detail",
        lambda w: reverse("procedures:detail", args=[w.version.pk]),
        row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    ),
    Entry("inventory:list", lambda w: reverse("inventory:list"), row(LOGIN, OK, OK, OK, OK, OK, OK)),
    Entry(
        "inventory:detail",
        lambda w: reverse("inventory:detail", args=[w.unit.pk]),
        row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
    ),
]


def api_url(name: str, *args) -> Callable[[World], str]:
    return lambda w: reverse(f"api:{name}", args=[arg(w) if callable(arg) else arg for arg in args])


# Everyone in the organisation reads with their token (the Planner, Operator and Admin groups
# all hold the view permissions); the outsider reads their own organisation, where the
# objects of this one are 404 and its lists hold none of them (tests/api checks the lists).
API_ENTRIES = [
    Entry("api:api-root", api_url("api-root"), row(*[NOT_FOUND] * 7), api=True),
    Entry("api:openapi-json", api_url("openapi-json"), row(*[OK] * 7), api=True),
    Entry("api:openapi-view", api_url("openapi-view"), row(*[OK] * 7), api=True),
    Entry(
        "api:runs",
        api_url("runs"),
        row(UNAUTHORIZED, OK, OK, OK, OK, OK, OK),
        # The part is export controlled and this organisation's: invisible to the uncleared
        # and the outsider, so their rows are invalid (422) and nothing is created.
        post=row(UNAUTHORIZED, CREATED, CREATED, FORBIDDEN, INVALID, INVALID, CREATED),
        post_data=lambda w: {"runs": [{"part": w.part.pk}]},
        state=lambda w: Run.objects.count(),
        api=True,
    ),
    Entry(
        "api:job",
        api_url("job", lambda w: w.export_job.pk),
        row(UNAUTHORIZED, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK),
        api=True,
    ),
    Entry(
        "api:run",
        api_url("run", lambda w: w.run.number),
        row(UNAUTHORIZED, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
        api=True,
    ),
    # Working a step: as on the run page (the operator on this pool run too). Step 1 is to do,
    # so a value is refused with 409, naming its state, to everyone who may work the run. A GET
    # is the wrong method, for anyone (ninja answers it before authenticating).
    Entry(
        "api:step_start",
        api_url("step_start", lambda w: w.run_step.run.number, 1),
        row(*[NOT_ALLOWED] * 7),
        post=row(UNAUTHORIZED, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
        state=step_state,
        api=True,
    ),
    *[
        Entry(
            f"api:step_{action}",
            api_url(f"step_{action}", lambda w: w.run_step.run.number, 1),
            row(*[NOT_ALLOWED] * 7),
            post=row(UNAUTHORIZED, *answers[:3], NOT_FOUND, NOT_FOUND, answers[3]),
            post_data=lambda w, reason=reason: {"reason": "Matrix"} if reason else {},
            state=step_state,
            api=True,
        )
        # The answers of the owner, the teammate, the operator and staff: step 1 is to do, so
        # it may be held; skipping and reopening are a planner's.
        for action, reason, answers in [
            ("complete", False, [CONFLICT, CONFLICT, CONFLICT, CONFLICT]),
            ("fail", True, [CONFLICT, CONFLICT, CONFLICT, CONFLICT]),
            ("hold", True, [OK, OK, OK, OK]),
            ("resume", True, [CONFLICT, CONFLICT, CONFLICT, CONFLICT]),
            ("skip", True, [OK, OK, FORBIDDEN, OK]),
            ("reopen", True, [CONFLICT, CONFLICT, FORBIDDEN, CONFLICT]),
        ]
    ],
    Entry(
        "api:step_field",
        api_url("step_field", lambda w: w.run_step.run.number, 1, 1),
        row(*[NOT_ALLOWED] * 7),
        post=row(UNAUTHORIZED, CONFLICT, CONFLICT, CONFLICT, NOT_FOUND, NOT_FOUND, CONFLICT),
        post_data=lambda w: {"value": 5},
        state=step_state,
        api=True,
        write="put",
    ),
    # Adding a procedure to a run created without one: planners only, as on the run page.
    Entry(
        "api:run_procedure",
        api_url("run_procedure", lambda w: w.bare_run.number),
        row(*[NOT_ALLOWED] * 7),
        post=row(UNAUTHORIZED, OK, OK, FORBIDDEN, NOT_FOUND, NOT_FOUND, OK),
        post_data=lambda w: {"procedure": w.version.pk},
        state=procedure_state,
        api=True,
    ),
    Entry(
        "api:part-procedures",
        api_url("part-procedures", lambda w: w.part.pk),
        row(UNAUTHORIZED, OK, OK, OK, NOT_FOUND, NOT_FOUND, OK),
        api=True,
    ),
    Entry("api:parts", api_url("parts"), row(UNAUTHORIZED, OK, OK, OK, OK, OK, OK), api=True),
    Entry("api:inventory", api_url("inventory"), row(UNAUTHORIZED, OK, OK, OK, OK, OK, OK), api=True),
    Entry("api:batches", api_url("batches"), row(UNAUTHORIZED, OK, OK, OK, OK, OK, OK), api=True),
]


# The admin is for staff: everyone else is sent to its login page. Both staff members hold
# the Admin group's permissions; the outsider's are for another organisation.
def for_staff(staff: str, outsider: str) -> dict[str, str]:
    return row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, outsider, staff)


def admin_url(name: str, *args) -> Callable[[World], str]:
    return lambda w: reverse(f"admin:{name}", args=[arg(w) if callable(arg) else arg for arg in args])


ADMIN_SITE_ENTRIES = [
    Entry("admin:index", admin_url("index"), for_staff(OK, OK)),
    # The login page tells a logged-in non-staff user they are not authorised; staff go in.
    Entry("admin:login", admin_url("login"), row(OK, OK, OK, OK, OK, ADMIN_MISSING, ADMIN_MISSING)),
    Entry(
        "admin:logout",
        admin_url("logout"),
        row(ADMIN_MISSING, *[ADMIN_MISSING] * 4, NOT_ALLOWED, NOT_ALLOWED),
    ),
    Entry("admin:password_change", admin_url("password_change"), for_staff(OK, OK)),
    Entry("admin:password_change_done", admin_url("password_change_done"), for_staff(OK, OK)),
    Entry(
        "admin:autocomplete",
        lambda w: (
            reverse("admin:autocomplete")
            + "?app_label=inventory&model_name=partinventory&field_name=part&term=ITAR"
        ),
        for_staff(OK, OK),
    ),
    Entry("admin:jsi18n", admin_url("jsi18n"), for_staff(OK, OK)),
    # No model has a page outside the admin, so "view on site" has nowhere to go; if one
    # gains get_absolute_url, the outsider must still not be sent to another organisation's.
    Entry(
        "admin:view_on_site",
        admin_url("view_on_site", lambda w: ContentType.objects.get_for_model(Run).pk, lambda w: w.run.pk),
        for_staff(NOT_FOUND, NOT_FOUND),
    ),
    Entry(
        "admin:auth_user_password_change",
        admin_url("auth_user_password_change", lambda w: w.teammate.pk),
        for_staff(OK, NOT_FOUND),
    ),
    *[
        Entry(
            "admin:app_list",
            admin_url("app_list", label),
            for_staff(answer, answer),
            variant=label,
        )
        for label, answer in [
            ("auth", NOT_FOUND),
            ("axes", NOT_FOUND),
            ("accounts", OK),
            ("inventory", OK),
            ("procedures", OK),
            ("runs", OK),
        ]
    ],
]


class AdminModel(NamedTuple):
    """A model registered in the admin, as the organisation's admin meets it.

    `obj` is the organisation's object of that kind; `may` what the Admin group may do with
    the model (view, add, change, delete); `scoped` whether the admin limits it to the
    organisation (auth groups and login records are site-wide); `refused` actions refused
    on this very object although the model allows them.
    """

    obj: Callable[[World], object]
    may: str
    scoped: bool = True
    refused: tuple[str, ...] = ()


ADMIN_MODELS = {
    "auth.group": AdminModel(lambda w: w.planner_group, "", scoped=False),
    "axes.accessattempt": AdminModel(lambda w: w.access_attempt, "", scoped=False),
    "axes.accesslog": AdminModel(lambda w: w.access_log, "", scoped=False),
    "axes.accessfailurelog": AdminModel(lambda w: w.access_failure_log, "", scoped=False),
    "accounts.organisation": AdminModel(lambda w: w.org, ""),
    "accounts.user": AdminModel(lambda w: w.teammate, "vacd"),
    "accounts.team": AdminModel(lambda w: w.team, "vacd"),
    # Tokens act as their user: superusers only, until the Admin group is given them.
    "accounts.apitoken": AdminModel(lambda w: w.token, ""),
    "inventory.part": AdminModel(lambda w: w.part, "vacd"),
    "inventory.partinventory": AdminModel(lambda w: w.unit, "vacd"),
    "procedures.procedureversion": AdminModel(lambda w: w.version, "vacd"),
    # The version is released, so its steps are read-only: viewed, never deleted.
    "procedures.procedurestep": AdminModel(lambda w: w.step, "vacd", refused=("delete",)),
    # Runs are made by create_runs(), never in the admin.
    "runs.run": AdminModel(lambda w: w.run, "v-cd"),
    "runs.runbatch": AdminModel(lambda w: w.batch, "vacd"),
    "runs.runattributedefinition": AdminModel(lambda w: w.attribute, "vacd"),
    # Planners' review rows: for superusers (support) only.
    "runs.rundraft": AdminModel(lambda w: w.draft, ""),
}


def admin_model_entries() -> list[Entry]:
    entries = []
    for label, model in ADMIN_MODELS.items():
        prefix = label.replace(".", "_")
        sees = "v" in model.may or "c" in model.may
        allowed = {"changelist": sees, "add": "a" in model.may, "change": sees, "history": sees}
        allowed["delete"] = "d" in model.may
        for action, ok in allowed.items():
            staff = OK if ok and action not in model.refused else FORBIDDEN
            outsider = OK if ok else FORBIDDEN
            # Another organisation's object "doesn't exist" for the outsider: the history page
            # looks it up before checking permissions, the change and delete pages after.
            if model.scoped and ((action in ("change", "delete") and ok) or action == "history"):
                outsider = ADMIN_MISSING
            args = [] if action in ("changelist", "add") else [lambda w, obj=model.obj: obj(w).pk]
            url = admin_url(f"{prefix}_{action}", *args)
            entries.append(Entry(f"admin:{prefix}_{action}", url, for_staff(staff, outsider)))
    return entries


ENTRIES = APP_ENTRIES + API_ENTRIES + ADMIN_SITE_ENTRIES + admin_model_entries()


def named_patterns(patterns=None, namespace: str = "") -> set[str]:
    """Every named URL pattern, with its namespaces ("runs:detail")."""
    names = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= named_patterns(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(namespace + pattern.name)
    return names


def test_every_named_url_is_in_the_matrix():
    assert named_patterns() == {entry.name for entry in ENTRIES}


def test_every_admin_model_is_in_the_matrix():
    assert {model._meta.label_lower for model in admin.site._registry} == set(ADMIN_MODELS)


def test_the_matrix_has_one_entry_per_pattern_and_variant():
    ids = [entry.id for entry in ENTRIES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("role", ["teammate", "uncleared", "outsider", "staff"])
def test_the_owners_rows_are_on_nobody_elses_review(world, role):
    url = reverse("runs:wizard-step", args=[world.wizard.wizard_id, "review"])
    response = world.client(role).get(url)
    assert str(world.draft.pk) not in response.content.decode()


@pytest.mark.parametrize(
    ("entry", "role"), [pytest.param(e, r, id=f"{e.id}-{r}") for e in ENTRIES for r in ROLES]
)
def test_get(world, entry, role):
    url = entry.url(world)
    response = (world.api_client(role) if entry.api else world.client(role)).get(url)
    assert answer(response, url) == entry.get[role]


@pytest.mark.parametrize(
    ("entry", "role"), [pytest.param(e, r, id=f"{e.id}-{r}") for e in ENTRIES if e.post for r in ROLES]
)
def test_post(world, entry, role):
    url = entry.url(world)
    data = entry.post_data(world)
    before = entry.state(world)
    if entry.api:
        response = getattr(world.api_client(role), entry.write)(url, data, content_type="application/json")
    else:
        response = world.client(role).post(url, data)
    expected = entry.post[role]
    assert answer(response, url) == expected
    if expected in (LOGIN, FORBIDDEN, NOT_FOUND, NOT_ALLOWED, UNAUTHORIZED, INVALID, CONFLICT):
        assert entry.state(world) == before, "a refused POST changed something"
