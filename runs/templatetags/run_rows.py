"""How a run's assignee is named in a one-line row."""

from django import template

register = template.Library()


@register.filter
def assignee_label(run) -> str:
    """Who has the run: a person, a team (marked as one), or nobody."""
    if run.assigned_user_id:
        return str(run.assigned_user)
    if run.assigned_team_id:
        return f"{run.assigned_team} (team)"
    return "Unassigned"
