from django import forms
from django.template.defaultfilters import pluralize

from runs.models import RunDraft
from runs.spreadsheets.columns import columns_for
from runs.spreadsheets.reading import UnreadableFile, read_upload


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Spreadsheet",
        error_messages={"required": "Choose a .csv or .xlsx file to import.", "empty": "That file is empty."},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_file(self):
        """The file's rows (a Sheet), or the one reason it cannot be imported."""
        try:
            sheet = read_upload(self.cleaned_data["file"], columns_for(self.user.organisation_id))
        except UnreadableFile as error:
            raise forms.ValidationError(str(error)) from None
        rows = len(sheet.rows)
        doing = f"{sheet.filename} has {rows:,} row{pluralize(rows)}"
        RunDraft.objects.make_room(self.user, rows, doing=doing)
        return sheet
