"""The step panel's forms: a step's values, and the reason an action asks for."""

import datetime

from django import forms
from django.utils import timezone

from procedures.models import FieldType
from runs.models import RunStep, RunStepField
from runs.services.run_changes import REASON_LENGTH

YES_NO = [("yes", "Yes"), ("no", "No")]
DATETIME_INPUT = "%Y-%m-%dT%H:%M"


def field_name(field: RunStepField) -> str:
    return f"field-{field.position}"


class StepValuesForm(forms.Form):
    """One input per field of the step, each showing its rule before anything is typed.

    The rules themselves are the fields' (RunStepField.checked_value, through the service):
    this form only turns what was posted into Python values. A sign-off someone else gave
    is shown, not offered; a file input left empty keeps the file there is.
    """

    def __init__(self, data=None, files=None, *, step: RunStep, fields: list[RunStepField], user):
        super().__init__(data, files, auto_id=f"step-{step.position}-%s")
        self.step, self.user = step, user
        self.step_fields = {}
        for spec in fields:
            if spec.type == FieldType.SIGNOFF and spec.value and spec.recorded_by_id != user.pk:
                continue
            name = field_name(spec)
            self.fields[name] = self._form_field(spec)
            self.fields[name].widget.attrs["aria-describedby"] = f"step-{step.position}-{name}-rule"
            self.initial[name] = self._initial(spec)
            self.step_fields[name] = spec

    @staticmethod
    def _form_field(spec: RunStepField) -> forms.Field:
        label, options = spec.label, [(str(o), str(o)) for o in spec.options]
        match spec.type:
            case FieldType.NUMBER:
                # Text, not a number input: the value is kept exactly as typed (7.50), and the
                # rule is checked by the field, with its message, not by the browser.
                widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
                return forms.CharField(label=label, required=False, widget=widget)
            case FieldType.BOOLEAN:
                return forms.ChoiceField(
                    label=label, required=False, choices=YES_NO, widget=forms.RadioSelect
                )
            case FieldType.SELECT:
                return forms.ChoiceField(
                    label=label,
                    required=False,
                    choices=[("", "—"), *options],
                    error_messages={"invalid_choice": f"{label} must be one of the options."},
                )
            case FieldType.MULTISELECT:
                return forms.MultipleChoiceField(
                    label=label,
                    required=False,
                    choices=options,
                    widget=forms.CheckboxSelectMultiple,
                    error_messages={"invalid_choice": f"{label}: pick from the options."},
                )
            case FieldType.DATETIME:
                return forms.DateTimeField(
                    label=label,
                    required=False,
                    input_formats=[DATETIME_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
                    widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT),
                    error_messages={"invalid": f"{label} takes a date and time."},
                )
            case FieldType.SIGNOFF:
                return forms.BooleanField(label=label, required=False)
            case FieldType.FILE:
                return forms.FileField(label=label, required=False)
        return forms.CharField(
            label=label, required=False, widget=forms.TextInput(attrs={"autocomplete": "off"})
        )

    @staticmethod
    def _initial(spec: RunStepField):
        value = spec.value
        if value is None:
            return None
        match spec.type:
            case FieldType.BOOLEAN:
                return "yes" if value else "no"
            case FieldType.DATETIME:
                return timezone.localtime(datetime.datetime.fromisoformat(value))
        return value

    def values(self) -> tuple[dict[int, object], dict]:
        """What was posted, by field position: (values, files). A file input left empty is left out."""
        values, files = {}, {}
        for name, spec in self.step_fields.items():
            posted = self.cleaned_data.get(name)
            match spec.type:
                case FieldType.FILE:
                    if posted:
                        files[spec.position] = posted
                    continue
                case FieldType.BOOLEAN:
                    posted = {"yes": True, "no": False}.get(posted)
                case FieldType.SIGNOFF:
                    posted = bool(posted)
                case FieldType.NUMBER | FieldType.TEXT:
                    posted = posted.strip() if posted else None
            values[spec.position] = posted
        return values, files

    def add_errors(self, errors: dict[int, str]) -> None:
        """The service's refusals, each at its field."""
        names = {spec.position: name for name, spec in self.step_fields.items()}
        for position, message in errors.items():
            name = names.get(position)
            self.add_error(name, message)
            if name is not None:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] += f" {self.auto_id % name}-error"

    def rows(self):
        """(bound field, its RunStepField) in order, for the template."""
        return [(self[name], spec) for name, spec in self.step_fields.items()]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason",
        error_messages={"required": "Say why."},
    )

    def __init__(self, data=None, *, prefix: str):
        super().__init__(data, prefix=prefix)
