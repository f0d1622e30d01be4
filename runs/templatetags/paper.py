"""The Print controls of the run, batch and created pages: travelers, and labels in a layout."""

from django import template

from runs.paper.labels import DEFAULT_LAYOUT, LAYOUTS

register = template.Library()


@register.inclusion_tag("runs/paper/downloads.html")
def paper_downloads(travelers_url: str, labels_url: str, runs: int) -> dict:
    """Links to the travelers PDF of `runs` runs and a form picking the labels' layout."""
    return {
        "travelers_url": travelers_url,
        "labels_url": labels_url,
        "runs": runs,
        "layouts": LAYOUTS.values(),
        "default_layout": DEFAULT_LAYOUT,
    }
