"""The site's icon: linked from every page, and /favicon.ico (asked by browsers unprompted) is no 404."""

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static


def test_favicon_ico_sends_browsers_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == static("favicon.svg")
    assert client.post("/favicon.ico").status_code == 405


def test_the_icon_is_a_static_svg():
    path = finders.find("favicon.svg")
    assert path
    with open(path) as icon:
        assert icon.read().startswith("<svg ")


@pytest.mark.django_db
def test_pages_link_the_icon(client):
    page = client.get("/accounts/login/").content.decode()
    assert f'<link rel="icon" href="{static("favicon.svg")}" type="image/svg+xml">' in page
