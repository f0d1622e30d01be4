"""What a search box may hold, the same on every page and in the API."""

from django.http import HttpRequest

# SQLite, the demo database, refuses LIKE patterns past 50,000 bytes; nobody types more
# than this into a search box, and the Runs page's form has always taken this much.
SEARCH_LENGTH = 100


def search_text(request: HttpRequest, name: str = "q") -> str:
    """A search box's text, with runs of spaces made one and cut to SEARCH_LENGTH."""
    return " ".join(request.GET.get(name, "").split())[:SEARCH_LENGTH]
