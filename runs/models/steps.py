"""Run steps and their fields: copies of the procedure's, executed on the floor (SPEC §12).

The step states, the actions that move a step between them (one table), the run status
derived from its steps (one function), and the rule each copied field puts on its value.
"""

import datetime
import decimal
import re
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format

from procedures.models import FieldSpec, FieldType
from runs.models.runs import Run, RunStatus


class StepStatus(models.TextChoices):
    TODO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"
    # ION's name for a skipped step.
    CANCELED = "canceled", "Skipped"
    HOLD = "hold", "On hold"

    @classmethod
    def done(cls) -> set[str]:
        """States that let the next step go ahead."""
        return {cls.COMPLETE, cls.CANCELED}


class StepAction(models.TextChoices):
    START = "start", "Start"
    COMPLETE = "complete", "Complete"
    FAIL = "fail", "Fail"
    HOLD = "hold", "Hold"
    RESUME = "resume", "Resume"
    SKIP = "skip", "Skip"
    REOPEN = "reopen", "Reopen"

    @property
    def transition(self) -> tuple[frozenset[str], StepStatus]:
        return STEP_TRANSITIONS[self]

    @property
    def needs_reason(self) -> bool:
        return self in (self.FAIL, self.HOLD, self.RESUME, self.SKIP, self.REOPEN)

    @property
    def for_planners(self) -> bool:
        """Skipping a step and reopening a failed one decide what the run is: a planner's call."""
        return self in (self.SKIP, self.REOPEN)

    @property
    def waits_its_turn(self) -> bool:
        """Starting (or holding before starting) needs every earlier step done."""
        return self in (self.START, self.HOLD)


# Every step transition: the states an action applies to, and the state it leads to.
STEP_TRANSITIONS: dict[StepAction, tuple[frozenset[str], StepStatus]] = {
    StepAction.START: (frozenset({StepStatus.TODO}), StepStatus.IN_PROGRESS),
    StepAction.COMPLETE: (frozenset({StepStatus.IN_PROGRESS}), StepStatus.COMPLETE),
    StepAction.FAIL: (frozenset({StepStatus.IN_PROGRESS}), StepStatus.FAILED),
    StepAction.HOLD: (frozenset({StepStatus.TODO, StepStatus.IN_PROGRESS}), StepStatus.HOLD),
    StepAction.RESUME: (frozenset({StepStatus.HOLD}), StepStatus.IN_PROGRESS),
    StepAction.SKIP: (
        frozenset({StepStatus.TODO, StepStatus.IN_PROGRESS, StepStatus.HOLD}),
        StepStatus.CANCELED,
    ),
    StepAction.REOPEN: (frozenset({StepStatus.FAILED}), StepStatus.TODO),
}


def derive_run_status(statuses: Iterable[str], *, started: bool = False) -> RunStatus:
    """A run's status from its steps' (SPEC §12); the only place it is worked out.

    All to do (or no steps): to do, unless the run was `started` before (its first step
    reopened for rework), when it stays in progress. Any on hold: on hold. Any failed:
    failed. All complete or skipped, at least one complete: complete. Anything else: in
    progress.
    """
    statuses = set(statuses)
    if statuses <= {StepStatus.TODO}:
        return RunStatus.IN_PROGRESS if started else RunStatus.TODO
    if StepStatus.HOLD in statuses:
        return RunStatus.HOLD
    if StepStatus.FAILED in statuses:
        return RunStatus.FAILED
    if statuses <= StepStatus.done() and StepStatus.COMPLETE in statuses:
        return RunStatus.COMPLETE
    return RunStatus.IN_PROGRESS


class RunStep(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=StepStatus, default=StepStatus.TODO)
    # Filled as the step is worked; the copy at creation (services/creation.py) leaves them empty.
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Why it was last failed, held, resumed, skipped or reopened, as the step panel shows it.
    status_reason = models.TextField(blank=True, default="", db_default="")
    # Worked on its own, apart from its batch ("this run only"): the batch page shows it.
    worked_alone = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["run_id", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "position"], name="run_step_position_unique")]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"

    @property
    def is_done(self) -> bool:
        return self.status in StepStatus.done()


# Longest value a text field takes without a limit of its own, and a number's longest spelling.
TEXT_VALUE_LENGTH = 10_000
NUMBER_LENGTH = 40


def step_file_path(field: "RunStepField", filename: str) -> str:
    run_step = field.run_step
    return f"run-files/{run_step.run.organisation_id}/{run_step.run_id}/{run_step.position}/{filename}"


class RunStepField(FieldSpec):
    """A copy of a procedure step field, so later revisions leave this run alone; and its value.

    `value` is JSON: a number as its exact decimal text, text, true/false, an option, a list
    of options, a date-time as ISO text, true for a sign-off (`recorded_by` is the signer),
    or a file's name (the file itself in `file`). None: nothing recorded.
    """

    run_step = models.ForeignKey(RunStep, on_delete=models.CASCADE, related_name="fields")
    value = models.JSONField(null=True, blank=True)
    file = models.FileField(upload_to=step_file_path, max_length=500, blank=True, db_default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_step_id", "position"]

    @property
    def has_value(self) -> bool:
        # Empty answers are stored as None (checked_value); a yes/no answered "No" is a value.
        return self.value is not None

    @property
    def rule(self) -> str:
        """The field's rule in words, shown before anything is typed."""
        low, high = self.min_value, self.max_value
        match self.type:
            case FieldType.NUMBER if low is not None and high is not None:
                return f"A number from {_plain(low)} to {_plain(high)}"
            case FieldType.NUMBER if low is not None:
                return f"A number of at least {_plain(low)}"
            case FieldType.NUMBER if high is not None:
                return f"A number of at most {_plain(high)}"
            case FieldType.NUMBER:
                return "A number"
            case FieldType.TEXT:
                rules = [f"at most {self.max_length} characters"] if self.max_length else []
                if self.pattern:
                    rules.append(f"matching {self.pattern}")
                return ("Text, " + " and ".join(rules)) if rules else "Text"
            case FieldType.SELECT:
                return "One of: " + ", ".join(map(str, self.options))
            case FieldType.MULTISELECT:
                return "Any of: " + ", ".join(map(str, self.options))
            case FieldType.BOOLEAN:
                return "Yes or no"
            case FieldType.DATETIME:
                return "A date and time"
            case FieldType.SIGNOFF:
                return "Your sign-off, with the time"
            case FieldType.FILE:
                return f"A file of up to {settings.STEP_FILE_MAX_BYTES // 2**20} MB"
        return ""

    def checked_value(self, value):
        """`value`, checked against this field's rule and made ready to store; ValidationError if not.

        Takes what a form cleaned or the API parsed: a Decimal (or int, or decimal text) for a
        number, text, a bool, a list for a multi-select, an aware datetime, True for a sign-off.
        None (or "" or []) clears the value. Files are checked by `checked_file`.
        """
        if value is None or value == "" or value == []:
            return None
        label = self.label
        match self.type:
            case FieldType.NUMBER:
                return self._checked_number(value)
            case FieldType.TEXT:
                if not isinstance(value, str):
                    raise ValidationError(f"{label} takes text.")
                limit = self.max_length or TEXT_VALUE_LENGTH
                if len(value) > limit:
                    raise ValidationError(
                        f"{label} is {len(value):,} characters long; at most {limit:,} fit."
                    )
                if self.pattern and not _matches(self.pattern, value):
                    raise ValidationError(f"{label} must match the pattern {self.pattern}.")
                return value
            case FieldType.BOOLEAN | FieldType.SIGNOFF:
                if not isinstance(value, bool):
                    raise ValidationError(f"{label} takes true or false.")
                if self.type == FieldType.SIGNOFF and not value:
                    return None
                return value
            case FieldType.SELECT:
                if not isinstance(value, str) or value not in self.options:
                    raise ValidationError(f"{label} must be one of: {', '.join(map(str, self.options))}.")
                return value
            case FieldType.MULTISELECT:
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ValidationError(f"{label} takes a list of options.")
                unknown = [v for v in value if v not in self.options]
                if unknown:
                    raise ValidationError(
                        f"{label}: {', '.join(unknown)} is not an option; pick from "
                        f"{', '.join(map(str, self.options))}."
                    )
                return [option for option in self.options if option in value]
            case FieldType.DATETIME:
                if isinstance(value, str):
                    try:
                        value = datetime.datetime.fromisoformat(value)
                    except ValueError:
                        raise ValidationError(
                            f"{label} takes a date and time such as 2026-12-07T14:30."
                        ) from None
                if not isinstance(value, datetime.datetime):
                    raise ValidationError(f"{label} takes a date and time such as 2026-12-07T14:30.")
                if timezone.is_naive(value):
                    value = timezone.make_aware(value)
                try:
                    # shown_value shows it in local time: a moment at the calendar's very ends
                    # (0001-01-01T00:00+05:00) has no local time there.
                    timezone.localtime(value)
                except OverflowError:
                    raise ValidationError(
                        f"{label} takes a date and time such as 2026-12-07T14:30."
                    ) from None
                return value.isoformat()
            case FieldType.FILE:
                raise ValidationError(f"{label} takes a file, uploaded on the run's page.")
        raise ValidationError(f"{label} cannot hold a value.")

    def _checked_number(self, value) -> str:
        label = self.label
        if isinstance(value, bool) or not isinstance(value, int | float | str | decimal.Decimal):
            raise ValidationError(f"{label} takes a number.")
        text = str(value).strip()
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise ValidationError(f"{label} takes a number, such as 7.5.") from None
        if not number.is_finite() or len(text) > NUMBER_LENGTH:
            raise ValidationError(f"{label} takes a number, such as 7.5.")
        low, high = self.min_value, self.max_value
        out_of_range = (low is not None and number < low) or (high is not None and number > high)
        if out_of_range and low is not None and high is not None:
            raise ValidationError(f"{label} must be between {_plain(low)} and {_plain(high)}.")
        if out_of_range and low is not None:
            raise ValidationError(f"{label} must be at least {_plain(low)}.")
        if out_of_range:
            raise ValidationError(f"{label} must be at most {_plain(high)}.")
        # Kept as typed ("7.50" stays 7.50): a measurement's precision is part of it.
        return str(number)

    def checked_file(self, upload) -> None:
        if self.type != FieldType.FILE:
            raise ValidationError(f"{self.label} does not take a file.")
        limit = settings.STEP_FILE_MAX_BYTES
        if upload.size > limit:
            raise ValidationError(
                f"{upload.name} is {upload.size / 2**20:.1f} MB; {self.label} takes files of up to "
                f"{limit // 2**20} MB."
            )

    @property
    def shown_value(self) -> str:
        """The value as a page, the history and a traveler show it ("" for none)."""
        value = self.value
        if value is None:
            return ""
        match self.type:
            case FieldType.BOOLEAN:
                return "Yes" if value else "No"
            case FieldType.MULTISELECT:
                return ", ".join(value)
            case FieldType.DATETIME:
                return date_format(timezone.localtime(datetime.datetime.fromisoformat(value)), "j M Y, H:i")
            case FieldType.SIGNOFF:
                when = (
                    date_format(timezone.localtime(self.recorded_at), "j M Y, H:i")
                    if self.recorded_at
                    else ""
                )
                return f"Signed by {self.recorded_by or 'a user since removed'}, {when}"
        return str(value)


def _plain(number: decimal.Decimal) -> str:
    """4.0000 as 4 and 12.5000 as 12.5, as a person writes a limit."""
    return f"{number.normalize():f}"


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        # The admin checks patterns when they are saved; one that is broken anyway refuses nothing.
        return True
