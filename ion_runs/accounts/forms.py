from django import forms

from ion_runs.accounts.models import ApiToken


class ApiTokenForm(forms.ModelForm):
    """Names a new API token; the secret is made by `ApiToken.issue`, never typed."""

    class Meta:
        model = ApiToken
        fields = ["name"]
        labels = {"name": "Token name"}
        help_texts = {"name": "Say where it will be used, e.g. “ERP import”, so you can tell tokens apart."}
