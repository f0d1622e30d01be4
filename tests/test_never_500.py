"""Whatever a client sends, the app answers it: never a server error, nothing made from junk.

Each test is one target (a wizard step, a Review row, a list's filters, a picker, Pick up)
and Hypothesis sends it a few hundred requests drawn from tests/strategies.py. Hypothesis's
Django TestCase runs every example in a transaction of its own, rolled back afterwards, so
one example's rows or sessions never leak into the next; the organisation, its people and
the planner's wizard (walked to Review once, in setUpTestData) are shared by all of them.
"""

import base64
import json
import logging
import traceback
import uuid
from urllib.parse import quote, urlencode, urlsplit

from django.conf import settings as django_settings
from django.test import Client
from django.urls import resolve, reverse
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from inventory.models import InventoryStatus, TrackingType
from ion_runs.accounts.models import ApiToken
from runs.models import AttributeType, Run, RunDraft, RunStatus
from tests import factories
from tests.runs.wizard_steps import WizardDriver
from tests.strategies import (
    FUZZ,
    date_field,
    flags,
    form_data,
    last,
    occurrences,
    search_field,
    shorten,
    texts,
)

STEPS = ["source", "part", "identify", "details", "review"]
HTMX = {"HTTP_HX_REQUEST": "true"}
ROW_ACTIONS = ["edit", "save", "duplicate", "remove", "restore", "gone"]


class NeverA500(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Each answer is checked by the test, which shows the traceback of a failure once;
        # the server-error log would repeat it for every example Hypothesis shrinks.
        for name in ("django.request", "django.security"):
            log = logging.getLogger(name)
            cls.addClassCleanup(log.setLevel, log.level)
            log.setLevel(logging.CRITICAL)

    @classmethod
    def setUpTestData(cls):
        org = factories.OrganisationFactory(name="Acme Rockets")
        other = factories.OrganisationFactory(name="Globex")
        cls.planner = factories.PlannerFactory(organisation=org, username="planner", export_cleared=True)
        cls.operator = factories.OperatorFactory(organisation=org, username="operator")
        outsider = factories.PlannerFactory(organisation=other, username="outsider")
        cls.team = factories.TeamFactory(organisation=org, members=[cls.planner, cls.operator])
        foreign_team = factories.TeamFactory(organisation=other)

        cls.part = factories.PartFactory(organisation=org, number="BRKT-ASSY-001")
        cls.lot_part = factories.PartFactory(organisation=org, tracking_type=TrackingType.LOT)
        cls.bulk_part = factories.PartFactory(organisation=org, tracking_type=TrackingType.NONE)
        # A part number as long as it may be: with a long serial, the auto name would not fit.
        cls.long_part = factories.PartFactory(organisation=org, number="P" * 100)
        cls.secret_part = factories.PartFactory(organisation=org, export_controlled=True)
        cls.foreign_part = factories.PartFactory(organisation=other)
        parts = [cls.part, cls.lot_part, cls.bulk_part, cls.long_part, cls.secret_part]
        cls.version = factories.ReleasedVersionFactory(procedure__organisation=org, parts=parts, steps=2)
        cls.draft_version = factories.ProcedureVersionFactory(procedure__organisation=org, parts=[cls.part])
        cls.foreign_version = factories.ReleasedVersionFactory(
            procedure__organisation=other, parts=[cls.foreign_part]
        )
        cls.unit = factories.PartInventoryFactory(part=cls.part, serial_number="SN-UNIT-1")
        cls.scrapped = factories.PartInventoryFactory(part=cls.part, status=InventoryStatus.SCRAPPED)
        cls.foreign_unit = factories.PartInventoryFactory(part=cls.foreign_part)
        cls.batch = factories.RunBatchFactory(organisation=org, name="Lot 42")
        cls.attributes = [
            factories.RunAttributeDefinitionFactory(
                organisation=org, key=f"a_{kind}", type=kind, options=options
            )
            for kind, options in [
                (AttributeType.TEXT, []),
                (AttributeType.NUMBER, []),
                (AttributeType.BOOLEAN, []),
                (AttributeType.DATE, []),
                (AttributeType.SELECT, ["Red", "Blue"]),
                (AttributeType.MULTISELECT, ["Red", "Blue"]),
                (AttributeType.USER, []),
            ]
        ]

        due = [None, "2026-01-05", "2026-03-01", "2030-12-31"]
        cls.runs = [
            factories.RunFactory(organisation=org, part=cls.part, due_date=due[i % 4], batch=cls.batch)
            for i in range(4)
        ]
        cls.runs += [
            factories.RunFactory(organisation=org, part=cls.lot_part, assigned_team=cls.team),
            factories.RunFactory(organisation=org, part=cls.part, assigned_user=cls.operator),
            factories.RunFactory(organisation=org, part=cls.part, status=RunStatus.COMPLETE),
            factories.RunFactory(organisation=org, part=cls.secret_part, export_controlled=True),
        ]
        cls.foreign_run = factories.RunFactory(organisation=other, part=cls.foreign_part)
        cls.foreign_token = uuid.uuid4()
        cls.fresh_token = uuid.uuid4()
        factories.RunFactory(
            organisation=other, part=cls.foreign_part, created_by=outsider, creation_token=cls.foreign_token
        )

        # The planner's wizard, walked to Review with rows that push the limits: a typed
        # serial and name, a lot, and a 100-digit serial with a 200-character name.
        client = Client()
        client.force_login(cls.planner)
        wizard = WizardDriver(client)
        wizard.author(
            part=cls.part,
            procedure=cls.version,
            identify={"serial_number": "SN-0007"},
            details={"name": "Bracket build", "due_date": "2026-06-01"},
        )
        WizardDriver(client).author(part=cls.lot_part, identify={"lot_number": "LOT-A", "quantity": 4})
        WizardDriver(client).author(
            part=cls.long_part, identify={"serial_number": "9" * 100}, details={"name": "N" * 200}
        )
        cls.wizard_id, cls.prefix = wizard.wizard_id, wizard.prefix
        cls.planner_session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        cls.drafts = [str(pk) for pk in RunDraft.objects.order_by("position").values_list("pk", flat=True)]

        operator_client = Client()
        operator_client.force_login(cls.operator)
        cls.operator_session = operator_client.cookies[django_settings.SESSION_COOKIE_NAME].value

        cls.ids = {
            "parts": [p.pk for p in [*parts, cls.foreign_part]],
            "versions": [cls.version.pk, cls.draft_version.pk, cls.foreign_version.pk],
            "units": [cls.unit.pk, cls.scrapped.pk, cls.foreign_unit.pk],
            "assignees": [
                "",
                f"user:{cls.planner.pk}",
                f"team:{cls.team.pk}",
                f"user:{outsider.pk}",
                f"team:{foreign_team.pk}",
                "user:",
                "team:abc",
                "nobody:1",
            ],
            "numbers": [run.number for run in [*cls.runs, cls.foreign_run]],
        }

    # -- helpers --------------------------------------------------------------------------

    def client_for(self, session: str) -> Client:
        """A client in an existing session that answers errors rather than raising them."""
        client = Client(raise_request_exception=False)
        client.cookies[django_settings.SESSION_COOKIE_NAME] = session
        return client

    def assertAnswered(self, response):
        """Not a server error, and no exception escaped the view on the way."""
        if response.exc_info:
            self.fail(shorten("".join(traceback.format_exception(*response.exc_info))))
        self.assertLess(response.status_code, 500)

    def assertNothingCreated(self, before: int):
        self.assertEqual(Run.objects.count(), before, "runs were created from this request")

    def wizard_url(self, step: str, wizard_id: str | None = None) -> str:
        wizard_id = self.wizard_id if wizard_id is None else wizard_id
        return f"/runs/new/{quote(wizard_id, safe='')}/{quote(step, safe='')}/"

    def step_fields(self) -> dict:
        """Every wizard step's fields, with the values its pages offer."""
        ids = self.ids
        fields = {
            "source-source": occurrences("build", "attach"),
            "part-part": occurrences(*ids["parts"]),
            "part-procedure": occurrences("", *ids["versions"]),
            "identify-tracking_type": occurrences(*TrackingType.values),
            "identify-serial_number": occurrences("SN-0007", "SN-NEW-1", "SN-UNIT-1", "9" * 100),
            "identify-serial_auto": flags(),
            "identify-lot_number": occurrences("LOT-A", "L" * 101),
            "identify-lot_auto": flags(),
            "identify-quantity": occurrences("1", "4", "1000000", "1000001", "0"),
            "identify-inventory": occurrences("", *ids["units"]),
            "details-name": occurrences("Bracket build", "N" * 200, "N" * 201),
            "details-name_auto": flags(),
            "details-due_date": date_field(),
            "details-export_controlled": flags(),
            "details-assigned_to": occurrences(*ids["assignees"]),
        }
        for definition in self.attributes:
            offered = [*definition.options, "planner", "outsider", "2026-06-01", "12.5", "on"]
            fields[f"details-attr_{definition.key}"] = occurrences(*offered)
        return fields

    # -- the New Run wizard -----------------------------------------------------------------

    @settings(FUZZ, max_examples=80)
    @given(st.data())
    def test_entry_points(self, data):
        query = data.draw(
            form_data(
                {
                    "procedure": occurrences(*self.ids["versions"]),
                    "inventory": occurrences(*self.ids["units"]),
                    "due": date_field(),
                }
            )
        )
        before = Run.objects.count()
        response = self.client_for(self.planner_session).get(reverse("runs:new"), query)
        self.assertAnswered(response)
        self.assertNothingCreated(before)

    @settings(FUZZ, max_examples=120)
    @given(st.data())
    def test_wizard_steps_get(self, data):
        wizard_id = data.draw(st.sampled_from([self.wizard_id, "FreshWizard01", "short", "w" * 40, "bad.id"]))
        step = data.draw(st.one_of(st.sampled_from([*STEPS, "done"]), texts()))
        query = data.draw(
            form_data(
                {
                    "q": search_field("BRKT", "SN-"),
                    "part": occurrences("", *self.ids["parts"]),
                    "procedure": occurrences(*self.ids["versions"]),
                    "inventory": occurrences(*self.ids["units"]),
                    "due": date_field(),
                    "button": occurrences("1"),
                    "review-batch": flags(),
                }
            )
        )
        headers = data.draw(st.sampled_from([{}, HTMX]))
        before = Run.objects.count()
        client = self.client_for(self.planner_session)
        response = client.get(self.wizard_url(step, wizard_id), query, **headers)
        self.assertAnswered(response)
        self.assertNothingCreated(before)

    @settings(FUZZ, max_examples=100)
    @given(st.data())
    def test_wizard_pickers(self, data):
        step = data.draw(st.sampled_from(["part", "identify"]))
        query = data.draw(
            form_data({"q": search_field("BRKT", "SN-", "LOT"), "part": occurrences("", *self.ids["parts"])})
        )
        headers = data.draw(st.sampled_from([HTMX, HTMX, {}]))
        before = Run.objects.count()
        response = self.client_for(self.planner_session).get(self.wizard_url(step), query, **headers)
        self.assertAnswered(response)
        self.assertNothingCreated(before)

    @settings(FUZZ, max_examples=150)
    @given(st.data())
    def test_wizard_steps_post(self, data):
        step = data.draw(st.sampled_from([*STEPS, "done"]))
        fields = self.step_fields() | {
            f"{self.prefix}-current_step": occurrences(*STEPS, "done"),  # tampered with
            "wizard_goto_step": occurrences(*STEPS, "done"),
            "review-batch": flags(),
            "review-batch_name": occurrences("Lot 42", "Lot 43", "B" * 201),
            "review-token": occurrences(self.fresh_token, self.foreign_token),
            "review-shown_rows": occurrences(",".join(self.drafts), self.drafts[0]),
        }
        payload = data.draw(form_data(fields))
        headers = data.draw(st.sampled_from([{}, HTMX]))
        before = set(Run.objects.values_list("pk", flat=True))
        response = self.client_for(self.planner_session).post(self.wizard_url(step), payload, **headers)
        self.assertAnswered(response)
        made = Run.objects.exclude(pk__in=before)
        if made.exists():
            # Only a valid Create makes runs, and it shows them: its own, on its own page.
            self.assertEqual(response.status_code, 302)
            match = resolve(urlsplit(response.url).path)
            self.assertEqual(match.view_name, "runs:created")
            self.assertEqual(set(made.values_list("creation_token", flat=True)), {match.kwargs["token"]})
            self.assertEqual(set(made.values_list("created_by", flat=True)), {self.planner.pk})

    # -- Review's rows ----------------------------------------------------------------------

    @settings(FUZZ, max_examples=150)
    @given(st.data())
    def test_review_row_actions(self, data):
        draft = data.draw(st.sampled_from([*self.drafts, str(uuid.uuid4())]))
        query = data.draw(
            form_data(
                {"wizard": occurrences(self.wizard_id), "mode": occurrences("edit"), "review-batch": flags()}
            )
        )
        fields = {
            name.replace("part-", "procedure-"): strategy
            for name, strategy in self.step_fields().items()
            if name.startswith(("part-procedure", "identify-", "details-"))
        }
        chosen = {
            "action": occurrences(*ROW_ACTIONS, min_size=1),
            "copies": occurrences("1", "2", "3", "500", "501", min_size=1),
        }
        payload = data.draw(form_data(fields, required=chosen))
        method = data.draw(st.sampled_from(["post", "post", "get"]))
        headers = data.draw(st.sampled_from([{}, HTMX]))
        runs, rows = Run.objects.count(), RunDraft.objects.count()
        self.assertEqual(rows, len(self.drafts), "an earlier example's rows were not rolled back")
        client = self.client_for(self.planner_session)
        url = reverse("runs:draft-row", args=[draft]) + "?" + urlencode(query, doseq=True)
        response = getattr(client, method)(url, payload, **headers)
        self.assertAnswered(response)
        self.assertNothingCreated(runs)
        added = RunDraft.objects.count() - rows
        if method == "post" and last(payload, "action") == "duplicate":
            self.assertLessEqual(added, 500)
        else:
            self.assertLessEqual(added, 0, "rows were added by something other than Duplicate")

    # -- finding the work -------------------------------------------------------------------

    @settings(FUZZ, max_examples=120)
    @given(st.data())
    def test_run_list_filters(self, data):
        ids = self.ids
        filters = {
            "status": occurrences("", "open", *RunStatus.values),
            "part": occurrences("BRKT", "PN-"),
            "procedure": occurrences("", "none", *(f"{p}{v}" for p in "vf" for v in ids["versions"])),
            "assignee": occurrences("", "me", "none", self.planner.pk, self.operator.pk),
            "team": occurrences("", self.team.pk),
            "batch": occurrences("Lot 42", "lot 42"),
            "due_from": date_field(),
            "due_to": date_field(),
            "export": occurrences("", "yes", "no"),
        }
        # Searching, sorting and paging take their own paths through the page: always in play.
        paging = {
            "q": search_field("Run", "SN-0007", "BRKT", "1", min_size=1),
            "sort": occurrences("-created", "created", "due", "-due", "name", "-name", min_size=1),
            "page": occurrences("1", "2", "last", "0", "-1", 10**18, 10**30, min_size=1),
        }
        query = data.draw(form_data(filters, required=paging))
        headers = data.draw(st.sampled_from([{}, HTMX]))
        before = Run.objects.count()
        response = self.client_for(self.planner_session).get(reverse("runs:list"), query, **headers)
        self.assertAnswered(response)
        self.assertNothingCreated(before)

    @settings(FUZZ, max_examples=60)
    @given(st.data())
    def test_work_lists(self, data):
        page = data.draw(
            st.sampled_from(
                [
                    reverse("runs:my-work"),
                    reverse("runs:pool"),
                    reverse("runs:team-queue", args=[self.team.pk]),
                ]
            )
        )
        query = data.draw(
            form_data({"q": search_field("Run")}, required={"page": occurrences("1", "2", "last", 10**18)})
        )
        headers = data.draw(st.sampled_from([{}, HTMX]))
        before = Run.objects.count()
        response = self.client_for(self.operator_session).get(page, query, **headers)
        self.assertAnswered(response)
        self.assertNothingCreated(before)

    @settings(FUZZ, max_examples=60)
    @given(st.data())
    def test_schedule(self, data):
        query = data.draw(
            form_data(
                {
                    "start": date_field(),
                    "span": occurrences("week", "month"),
                    "closed": occurrences("1", "0"),
                    "page": occurrences("1", "2", 10**18),
                }
            )
        )
        before = Run.objects.count()
        response = self.client_for(self.planner_session).get(reverse("runs:schedule"), query)
        self.assertAnswered(response)
        self.assertNothingCreated(before)

    @settings(FUZZ, max_examples=100)
    @given(st.data())
    def test_procedure_and_inventory_lists(self, data):
        page = data.draw(st.sampled_from([reverse("procedures:list"), reverse("inventory:list")]))
        query = data.draw(
            form_data(
                {
                    "status": occurrences("", *InventoryStatus.values),
                    "page": occurrences("1", "2", "last", 10**18),
                },
                required={"q": search_field("BRKT", "Assemble", "SN-UNIT-1", "Stores", min_size=1)},
            )
        )
        before = Run.objects.count()
        response = self.client_for(self.planner_session).get(page, query)
        self.assertAnswered(response)
        self.assertNothingCreated(before)

    @settings(FUZZ, max_examples=100)
    @given(st.data())
    def test_pick_up(self, data):
        number = data.draw(st.one_of(st.sampled_from(self.ids["numbers"]), st.integers(min_value=0)))
        payload = data.draw(
            form_data(
                {
                    "next": occurrences(
                        "0",
                        "/runs/my-work/",
                        "/runs/unassigned/?page=2",
                        "//evil.example/",
                        "https://evil.example/",
                        "http:///evil.example/",
                        "javascript:alert(1)",
                        "\\\\evil.example",
                        "/\\evil.example",
                    )
                }
            )
        )
        headers = data.draw(st.sampled_from([{}, HTMX]))
        before = Run.objects.count()
        client = self.client_for(self.operator_session)
        response = client.post(reverse("runs:pick-up", args=[number]), payload, **headers)
        self.assertAnswered(response)
        self.assertNothingCreated(before)
        if response.status_code == 302:
            # Back to a page of this site, never to another one.
            target = urlsplit(response.url)
            self.assertIn(target.netloc, ("", "testserver"), response.url)
            self.assertIn(target.scheme, ("", "http"), response.url)
            self.assertTrue(target.path.startswith("/"), response.url)
            resolve(target.path)

    # -- text Python reads one way and PostgreSQL or int() another ----------------------------

    def api_client(self) -> Client:
        secret = ApiToken.issue(user=self.planner, name="never a 500")[1]
        return Client(raise_request_exception=False, headers={"Authorization": f"Bearer {secret}"})

    def assertDelivered(self, response):
        """Answered, and for a download every byte made: a streamed one fails only as it is read."""
        if response.streaming and not response.exc_info:
            b"".join(response.streaming_content)
        self.assertAnswered(response)

    def test_a_superscript_digit_in_any_search(self):
        # "²".isdigit() is true, yet int("²") raises.
        client = self.client_for(self.planner_session)
        for url, query in [
            (reverse("runs:list"), {"q": "²"}),
            (reverse("runs:my-work"), {"q": "²"}),
            (reverse("runs:batch", args=[self.batch.pk]), {"find": "²"}),
            (reverse("runs:export", args=["csv"]), {"q": "²"}),
            (reverse("runs:export", args=["xlsx"]), {"q": "²"}),
        ]:
            with self.subTest(url=url):
                self.assertDelivered(client.get(url, query))
        self.assertAnswered(self.api_client().get("/api/v1/runs", {"q": "²"}))

    def test_a_cursor_in_an_offset_postgresql_refuses(self):
        # Python reads offsets up to ±23:59; PostgreSQL refuses those past ±15:59.
        when = "2026-01-01T00:00:00+20:00"
        client = self.client_for(self.planner_session)
        for direction in ("after", "before"):
            with self.subTest(direction=direction):
                self.assertAnswered(client.get(reverse("runs:list"), {direction: f"{when},1"}))
        cursor = base64.urlsafe_b64encode(json.dumps([when, 1]).encode()).decode()
        self.assertAnswered(self.api_client().get("/api/v1/runs", {"cursor": cursor}))

    def test_a_control_character_in_a_name_then_the_xlsx_export(self):
        run = self.runs[0]
        client = self.client_for(self.planner_session)
        renamed = client.post(
            reverse("runs:run-rename", args=[run.number]),
            {"rename-name": "Bell\x07 ring\x01", "rename-seen": run.name},
        )
        self.assertAnswered(renamed)
        self.assertDelivered(client.get(reverse("runs:export", args=["xlsx"])))
