"""Demo data: one organisation with people, parts, procedures, inventory and some runs."""

import datetime
import random

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from inventory.models import InventoryStatus, Part, PartInventory, TrackingType
from ion_runs.accounts.models import Organisation, Team, User
from procedures.models import FieldType, Procedure, ProcedureStep, ProcedureVersion, StepField
from runs.models import AttributeType, Run, RunAttributeDefinition
from runs.services import RunRequest, create_runs, start_step

ORGANISATION = "Acme Rockets"
PEOPLE = [
    # username, first, last, group, staff, export cleared, password
    ("planner", "Priya", "Natarajan", "Planner", False, True, "planner-demo-2026"),
    ("operator", "Oscar", "Lindqvist", "Operator", False, False, "operator-demo-2026"),
    ("admin", "Ada", "Okafor", "Admin", True, True, "admin-demo-2026"),
    ("tech2", "Mei", "Tanaka", "Operator", False, True, "tech2-demo-2026"),
]
TEAMS = {"Final Assembly": ["operator", "planner"], "Test & Inspection": ["tech2"]}
S, L, N = TrackingType.SERIAL, TrackingType.LOT, TrackingType.NONE
PARTS = [
    ("BRKT-ASSY-001", "Engine mount bracket assembly", S),
    ("BRKT-ASSY-002", "Avionics tray bracket", S),
    ("TVC-ACT-100", "Thrust vector control actuator", S),
    ("VLV-MAIN-250", "Main oxidiser valve", S),
    ("VLV-PURGE-12", "Helium purge valve", S),
    ("PMP-TURBO-7", "Turbopump assembly", S),
    ("INJ-PLATE-40", "Injector plate", S),
    ("NOZ-EXT-3", "Nozzle extension", S),
    ("AVN-FC-2", "Flight computer", S),
    ("AVN-IMU-5", "Inertial measurement unit", S),
    ("HRN-MAIN-A", "Main wiring harness", S),
    ("TNK-COPV-9", "Composite overwrapped pressure vessel", S),
    ("SEAL-OR-214", "O-ring seal, -214, Viton", L),
    ("FST-BOLT-M6", "M6 titanium bolt", L),
    ("FST-NUT-M6", "M6 self-locking nut", L),
    ("GSKT-CU-50", "Copper crush gasket 50 mm", L),
    ("ADH-EPX-2216", "Structural epoxy adhesive kit", L),
    ("CBL-TIE-200", "Cable ties 200 mm", L),
    ("PCB-PWR-3", "Power distribution board", L),
    ("INS-MLI-1", "Multi-layer insulation blanket", L),
    ("WSHR-M6", "M6 washer", N),
    ("SHIM-0.1", "Shim stock 0.1 mm", N),
    ("LBL-SER", "Serial label blank", N),
    ("TAPE-KAP-25", "Kapton tape 25 mm", N),
    ("GRS-BRAY", "Braycote grease tube", N),
    ("BRKT-TEST-01", "Test fixture bracket", S),
    ("FLG-ADPT-8", "Flange adapter 8 in", S),
    ("RING-SEP-1", "Stage separation ring", S),
    ("SNS-PT-3K", "Pressure transducer 3000 psi", S),
    ("SNS-TC-K", "Thermocouple type K", L),
]
EXPORT_CONTROLLED = {"TVC-ACT-100"}
FAMILIES = [
    # title, type, parts, versions, steps, final status of the newest version
    ("Bracket assembly", "build", ["BRKT-ASSY-001", "BRKT-ASSY-002"], 3, 12, "draft"),
    ("Actuator build and torque", "build", ["TVC-ACT-100"], 2, 24, "released"),
    ("Valve build", "build", ["VLV-MAIN-250", "VLV-PURGE-12"], 2, 18, "released"),
    ("Turbopump build", "build", ["PMP-TURBO-7"], 3, 40, "in_review"),
    ("Injector inspection", "inspection", ["INJ-PLATE-40"], 2, 8, "released"),
    ("Avionics acceptance test", "test", ["AVN-FC-2", "AVN-IMU-5"], 2, 15, "released"),
    ("Harness continuity test", "test", ["HRN-MAIN-A"], 2, 10, "released"),
    ("COPV proof test", "test", ["TNK-COPV-9", "BRKT-ASSY-001"], 3, 14, "released"),
    ("Seal kitting", "build", ["SEAL-OR-214", "GSKT-CU-50", "FST-BOLT-M6"], 2, 5, "released"),
    ("Ground support maintenance", "maintenance", ["BRKT-TEST-01"], 2, 6, "released"),
]
STEP_WORDS = [
    "Inspect",
    "Clean",
    "Install",
    "Torque",
    "Verify",
    "Record",
    "Align",
    "Leak check",
    "Photograph",
    "Sign off",
]
OBJECTS = [
    "fasteners",
    "seals",
    "housing",
    "harness",
    "mounting face",
    "bearing",
    "fittings",
    "label",
    "sensor",
    "cover",
]


class Command(BaseCommand):
    help = "Load demo data (idempotent): people, parts, procedures, inventory and runs."

    def handle(self, *args, **options):
        random.seed(2026)
        with transaction.atomic():
            org, _ = Organisation.objects.get_or_create(name=ORGANISATION)
            people = self.people(org)
            if not org.parts.exists():
                self.catalogue(org, people)
            else:
                self.stdout.write("Demo catalogue already present; left as it is.")
        if not org.runs.exists():
            self.runs(org, people)
        self.stdout.write(self.style.SUCCESS(f"\nDemo logins (organisation “{org.name}”):"))
        for username, _first, _last, group, staff, cleared, password in PEOPLE:
            extra = ", staff" if staff else ""
            extra += ", export cleared" if cleared else ""
            if username in self.kept_passwords:
                password = "(existing user, password unchanged)"
            self.stdout.write(f"  {username:<9} / {password:<36} {group}{extra}")
        self.stdout.write(
            # No address: ./scripts/demo serves on $PORT and says where, runserver on what it is given.
            "\nOpen the app where it is served to plan runs; the admin (log in as admin) is at /admin/ there."
        )

    def people(self, org) -> dict[str, User]:
        people = {}
        # A user of that name who was there before the demo keeps their password.
        self.kept_passwords = set()
        for username, first, last, group, staff, cleared, password in PEOPLE:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "organisation": org,
                    "is_staff": staff,
                    "export_cleared": cleared,
                    "email": f"{username}@acme-rockets.example",
                },
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            elif not user.check_password(password):
                self.kept_passwords.add(username)
            user.groups.add(Group.objects.get(name=group))
            people[username] = user
        for name, members in TEAMS.items():
            team, _ = Team.objects.get_or_create(organisation=org, name=name)
            team.members.add(*(people[m] for m in members))
        return people

    def catalogue(self, org, people) -> None:
        parts = {
            p.number: p
            for p in Part.objects.bulk_create(
                Part(
                    organisation=org,
                    number=number,
                    description=description,
                    tracking_type=tracking,
                    export_controlled=number in EXPORT_CONTROLLED,
                )
                for number, description, tracking in PARTS
            )
        }
        for title, kind, part_numbers, versions, steps, final in FAMILIES:
            self.family(org, title, kind, [parts[n] for n in part_numbers], versions, steps, final)
        self.inventory(org, parts)
        for position, (key, label, kind, options, required) in enumerate(
            [
                ("customer_po", "Customer PO", AttributeType.TEXT, [], False),
                ("priority", "Priority", AttributeType.SELECT, ["Routine", "Expedite", "Hot"], True),
                ("oven_temp", "Cure temperature (°C)", AttributeType.NUMBER, [], False),
                ("first_article", "First article", AttributeType.BOOLEAN, [], False),
            ]
        ):
            RunAttributeDefinition.objects.create(
                organisation=org,
                key=key,
                label=label,
                type=kind,
                options=options,
                required=required,
                position=position,
            )

    def family(self, org, title, kind, parts, versions, step_count, final) -> None:
        family = Procedure.objects.create(organisation=org)
        version = ProcedureVersion.objects.create(
            organisation=org,
            procedure=family,
            number=1,
            title=title,
            type=kind,
            export_controlled=any(p.export_controlled for p in parts),
        )
        version.parts.set(parts)
        self.steps(version, step_count)
        version.release()
        for number in range(2, versions + 1):
            version = version.revise()
            step = version.steps.order_by("-position").first()
            step.title = f"{step.title} (rev {number})"
            step.save()
            if number < versions or final == "released":
                version.release()
            elif final == "in_review":
                version.submit_for_review()
            else:
                # A draft waiting on approval: the admin's Release says which step.
                step.approved = False
                step.save()

    def steps(self, version, count) -> None:
        steps = ProcedureStep.objects.bulk_create(
            ProcedureStep(
                version=version,
                position=i,
                approved=True,
                title=f"{STEP_WORDS[i % len(STEP_WORDS)]} {OBJECTS[(i * 3) % len(OBJECTS)]}",
                instructions=f"Follow work instruction WI-{version.procedure_id:03d}-{i:02d}. "
                "Use calibrated tools only.",
            )
            for i in range(1, count + 1)
        )
        kinds = [
            dict(type=FieldType.NUMBER, label="Torque (Nm)", required=True, min_value=4, max_value=12),
            dict(type=FieldType.TEXT, label="Tool ID", max_length=20, pattern=r"^T-\d{4}$"),
            dict(type=FieldType.BOOLEAN, label="Visual check passed", required=True),
            dict(type=FieldType.SELECT, label="Result", options=["Pass", "Fail", "N/A"], required=True),
            dict(type=FieldType.MULTISELECT, label="Defects seen", options=["Scratch", "Dent", "FOD"]),
            dict(type=FieldType.DATETIME, label="Completed at"),
            dict(type=FieldType.SIGNOFF, label="Inspector sign-off", required=True),
            dict(type=FieldType.FILE, label="Photo"),
        ]
        StepField.objects.bulk_create(
            StepField(step=step, position=j + 1, **kinds[(step.position + j) % len(kinds)])
            for step in steps
            for j in range(1 + step.position % 3)
        )

    def inventory(self, org, parts) -> None:
        statuses = list(InventoryStatus.values)
        units = []
        serial = 0
        locations = ["Stores A1", "Stores A2", "Cage 3", "Line 1", "Line 2", "Quarantine"]
        for part in parts.values():
            for i in range(6):
                # Two available units per part to start runs on, then every other status in turn.
                status = statuses[len(units) % len(statuses)] if i > 1 else InventoryStatus.AVAILABLE
                location = locations[(i + serial) % len(locations)]
                if part.tracking_type == S:
                    serial += 1
                    units.append(
                        PartInventory(
                            organisation=org,
                            part=part,
                            serial_number=f"SN-{90000 + serial}",
                            quantity=1,
                            status=status,
                            location=location,
                        )
                    )
                elif part.tracking_type == L:
                    units.append(
                        PartInventory(
                            organisation=org,
                            part=part,
                            lot_number=f"L{2600 + i}-{part.pk}",
                            quantity=random.randint(10, 500),
                            status=status,
                            location=location,
                        )
                    )
                else:
                    units.append(
                        PartInventory(
                            organisation=org,
                            part=part,
                            quantity=random.randint(50, 5000),
                            status=status,
                            location=location,
                        )
                    )
        PartInventory.objects.bulk_create(units)

    def runs(self, org, people) -> None:
        planner = people["planner"]
        released = {
            part.pk: version
            for version in ProcedureVersion.objects.filter(organisation=org).runnable()
            for part in version.parts.all()
        }
        teams = list(org.teams.all())
        today = timezone.localdate()
        requests = []
        for i, part in enumerate(Part.objects.filter(organisation=org, pk__in=released)):
            for j in range(2):
                k = i * 2 + j
                # Oscar is not export cleared: export-controlled work goes to Mei instead.
                controlled = part.export_controlled or released[part.pk].export_controlled
                assignee = people["tech2" if controlled else "operator"]
                requests.append(
                    RunRequest(
                        part_id=part.pk,
                        procedure_version_id=released[part.pk].pk,
                        quantity=25 if part.tracking_type != S else 1,
                        due_date=today + datetime.timedelta(days=(k % 15) - 4) if k % 5 else None,
                        assigned_user_id=assignee.pk if k % 4 == 1 else None,
                        assigned_team_id=teams[k % 2].pk if k % 4 == 2 else None,
                        attributes={
                            "priority": ["Routine", "Expedite", "Hot"][k % 3],
                            "customer_po": f"PO-{4500 + k}",
                        },
                    )
                )
        create_runs(user=planner, requests=requests)
        valve = Part.objects.get(organisation=org, number="VLV-PURGE-12")
        create_runs(
            user=planner,
            batch_name="Purge valves, week 48",
            requests=[
                RunRequest(
                    part_id=valve.pk,
                    procedure_version_id=released[valve.pk].pk,
                    due_date=today + datetime.timedelta(days=7),
                    attributes={"priority": "Expedite"},
                )
                for _ in range(4)
            ],
        )
        # One of Oscar's runs under way, so that My work shows a run in progress.
        theirs = Run.objects.filter(organisation=org, assigned_user=people["operator"]).order_by("number")
        first_step = theirs.first().steps.order_by("position").first()
        start_step(actor=people["operator"], step=first_step)
