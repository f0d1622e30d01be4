import factory
from django.contrib.auth.models import Group

from inventory.models import InventoryStatus, Part, PartInventory, TrackingType
from ion_runs.accounts.models import Organisation, Team, User
from procedures.models import (
    FieldType,
    Procedure,
    ProcedureStep,
    ProcedureVersion,
    StepField,
    VersionStatus,
)
from runs.models import (
    AttributeType,
    Run,
    RunAttributeDefinition,
    RunBatch,
    RunDraft,
    RunSource,
    RunStep,
    RunStepField,
)

PASSWORD = "correct-horse-battery"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Factory {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    export_cleared = False
    password = factory.django.Password(PASSWORD)

    groups = factory.PostGeneration(lambda user, create, names, **kw: join_groups(user, names or ()))


def join_groups(user, names):
    groups = list(Group.objects.filter(name__in=names))
    if len(groups) < len(set(names)):
        ensure_demo_groups()
        groups = list(Group.objects.filter(name__in=names))
    user.groups.add(*groups)


class PlannerFactory(UserFactory):
    """A planner; pass groups=[...] to replace the Planner group."""

    groups = factory.PostGeneration(
        lambda user, create, names, **kw: join_groups(user, names or ("Planner",))
    )


class OperatorFactory(UserFactory):
    groups = factory.PostGeneration(
        lambda user, create, names, **kw: join_groups(user, names or ("Operator",))
    )


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if extracted:
            self.members.add(*extracted)


class PartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Part

    organisation = factory.SubFactory(OrganisationFactory)
    number = factory.Sequence(lambda n: f"PN-{n:05d}")
    revision = "A"
    description = factory.Faker("sentence", nb_words=4)
    tracking_type = TrackingType.SERIAL


class PartInventoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartInventory

    part = factory.SubFactory(PartFactory)
    organisation = factory.SelfAttribute("part.organisation")
    serial_number = factory.Sequence(lambda n: f"INV-{n:06d}")
    quantity = 1
    location = "Stores A1"
    status = InventoryStatus.AVAILABLE


class ProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Procedure

    organisation = factory.SubFactory(OrganisationFactory)


class ProcedureVersionFactory(factory.django.DjangoModelFactory):
    """A procedure version; `steps=N` adds N approved steps with two fields each."""

    class Meta:
        model = ProcedureVersion
        skip_postgeneration_save = True

    procedure = factory.SubFactory(ProcedureFactory)
    organisation = factory.SelfAttribute("procedure.organisation")
    number = 1
    title = factory.Sequence(lambda n: f"Assemble bracket {n}")
    status = VersionStatus.DRAFT

    @factory.post_generation
    def parts(self, create, extracted, **kwargs):
        if extracted:
            self.parts.add(*extracted)

    @factory.post_generation
    def steps(self, create, extracted, **kwargs):
        count = extracted if extracted is not None else 2
        steps = ProcedureStep.objects.bulk_create(
            ProcedureStep(
                version=self, position=i, title=f"Step {i}", approved=True, instructions=f"Do step {i}."
            )
            for i in range(1, count + 1)
        )
        StepField.objects.bulk_create(
            field
            for step in steps
            for field in (
                StepField(
                    step=step,
                    position=1,
                    label="Torque (Nm)",
                    type=FieldType.NUMBER,
                    required=True,
                    min_value=1,
                    max_value=20,
                ),
                StepField(step=step, position=2, label="Inspector", type=FieldType.SIGNOFF),
            )
        )


class ReleasedVersionFactory(ProcedureVersionFactory):
    status = VersionStatus.RELEASED


class RunBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RunBatch

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Batch {n}")


class RunAttributeDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RunAttributeDefinition

    organisation = factory.SubFactory(OrganisationFactory)
    key = factory.Sequence(lambda n: f"attr_{n}")
    label = factory.Sequence(lambda n: f"Attribute {n}")
    type = AttributeType.TEXT


class RunFactory(factory.django.DjangoModelFactory):
    """A run made directly, for list and permission tests; real runs come from create_runs."""

    class Meta:
        model = Run

    organisation = factory.SubFactory(OrganisationFactory)
    number = factory.Sequence(lambda n: n + 1)
    name = factory.LazyAttribute(lambda run: f"Run {run.number}")
    part = factory.SubFactory(PartFactory, organisation=factory.SelfAttribute("..organisation"))
    part_inventory = factory.SubFactory(
        PartInventoryFactory,
        part=factory.SelfAttribute("..part"),
        status="in_build",
    )
    source = RunSource.BUILD
    tracking_type = factory.SelfAttribute("part.tracking_type")


class RunStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RunStep

    run = factory.SubFactory(RunFactory)
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Step {n}")


class RunStepFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RunStepField

    run_step = factory.SubFactory(RunStepFactory)
    position = 1
    label = "Torque (Nm)"
    type = FieldType.NUMBER


class RunDraftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RunDraft

    owner = factory.SubFactory(PlannerFactory)
    organisation = factory.SelfAttribute("owner.organisation")
    data = factory.LazyFunction(dict)


def ensure_demo_groups():
    """Recreate the demo groups after a transactional test's flush emptied them.

    The groups come from a data migration; the flush that ends every transactional
    (live server, threaded) test truncates them, and pytest-django runs those tests last,
    one after another.
    """
    from importlib import import_module

    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Permission

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    for name, codenames in import_module("runs.migrations.0002_groups").GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
