"""Drive the New Run wizard through the test client, the way a browser posts it."""

import re

from django.urls import reverse

STEP_URL = re.compile(r"/runs/new/(?P<wizard_id>[^/]+)/(?P<step>[^/]+)/")


class WizardDriver:
    def __init__(self, client, query: str = ""):
        self.client = client
        response = client.get(reverse("runs:new") + query)
        assert response.status_code == 302, response
        match = STEP_URL.match(response.url)
        self.wizard_id = match["wizard_id"]
        self.prefix = f"new_run_{self.wizard_id}"

    def url(self, step: str) -> str:
        return reverse("runs:wizard-step", kwargs={"wizard_id": self.wizard_id, "step": step})

    def get(self, step: str, **kwargs):
        return self.client.get(self.url(step), **kwargs)

    def post(self, step: str, data: dict, **extra):
        payload = {f"{self.prefix}-current_step": step}
        payload |= {f"{step}-{key}": value for key, value in data.items()}
        payload |= extra
        return self.client.post(self.url(step), payload)

    def author(self, *, source="build", part, procedure=None, identify=None, details=None):
        """Walk Source → Details; returns the Details response (a redirect to Review)."""
        assert self.post("source", {"source": source}).status_code == 302
        response = self.post("part", {"part": part.pk, "procedure": procedure.pk if procedure else ""})
        assert response.status_code == 302, response.context["wizard"]["form"].errors
        response = self.post("identify", identify or {"serial_auto": "on"})
        assert response.status_code == 302, response.context["wizard"]["form"].errors
        response = self.post("details", {"name_auto": "on"} | (details or {}))
        assert response.status_code == 302, response.context["wizard"]["form"].errors
        return response

    def create(self, batch_name: str = "", token: str | None = None, shown_rows: str | None = None):
        """Press Create on Review; a second press re-sends what the page held the first time."""
        if token is None or shown_rows is None:
            review = self.get("review")
            token = token or review.context["wizard"]["form"]["token"].value()
            shown_rows = review.context["shown_rows"] if shown_rows is None else shown_rows
        data = {"token": token, "shown_rows": shown_rows}
        if batch_name:
            data |= {"batch": "on", "batch_name": batch_name}
        return self.post("review", data)
