"""How a run is named in a one-line row, where its number has a column of its own."""

from django import template

register = template.Library()


@register.filter
def run_title(run) -> str:
    """The run's name without the `Run 1234: ` an auto-generated name starts with.

    `Run 1234: BRKT-ASSY-001 · SN-00001` next to `#1234` would say the number twice.
    A typed name is shown as typed.
    """
    prefix = f"Run {run.number}: "
    return run.name.removeprefix(prefix) or run.name


@register.filter
def assignee_label(run) -> str:
    """Who has the run: a person, a team (marked as one), or nobody."""
    if run.assigned_user_id:
        return str(run.assigned_user)
    if run.assigned_team_id:
        return f"{run.assigned_team} (team)"
    return "Unassigned"
