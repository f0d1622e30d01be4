"""Form fields the admin's procedure (and run attribute) pages share."""

from django import forms


class OptionLinesField(forms.Field):
    """A select's options as a planner writes them, one a line, kept as the JSON list the
    model stores: no blank line between options, none listed twice (in any case), since
    the operator picks by the text."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 24})
    default_help_text = "One option per line, in the order the operator sees them. For select fields."

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", self.default_help_text)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(map(str, value))
        return value

    def to_python(self, value) -> list[str]:
        lines = [line.strip() for line in (value or "").splitlines()]
        # Blank lines before the first option and after the last are no one's mistake.
        filled = [number for number, line in enumerate(lines) if line]
        lines = lines[filled[0] : filled[-1] + 1] if filled else []
        if "" in lines:
            number = filled[0] + lines.index("") + 1
            raise forms.ValidationError(f"Line {number} is empty: give one option a line.", code="blank")
        seen = {}
        for line in lines:
            if line.casefold() in seen:
                raise forms.ValidationError(
                    f"“{line}” is listed twice: give each option once.", code="duplicate"
                )
            seen[line.casefold()] = line
        return lines
