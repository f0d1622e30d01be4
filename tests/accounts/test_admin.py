"""The user's admin page names the teams the user belongs to."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def user_page(user) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def test_the_user_page_lists_the_users_teams_by_name(admin_client, org, planner):
    factories.TeamFactory(organisation=org, name="Final Assembly", members=[planner])
    factories.TeamFactory(organisation=org, name="Night shift", members=[planner])
    body = admin_client.get(user_page(planner)).content.decode()
    assert re.search(r'<h2 id="Team_members-heading" class="inline-heading">\s*Teams\s*</h2>', body)
    rows = re.findall(r'<td class="original">\s*<p>\s*([^<]+?)\s*</p>', body)
    assert rows == ["Final Assembly", "Night shift"]
    assert "object (" not in body


def test_the_history_names_the_team_a_user_left(admin_client, org, planner):
    team = factories.TeamFactory(organisation=org, name="Final Assembly", members=[planner])
    membership = team.members.through.objects.get()
    response = admin_client.post(
        user_page(planner),
        {
            "username": planner.username,
            "is_active": "on",
            "date_joined_0": "2026-11-02",
            "date_joined_1": "08:00:00",
            "organisation": org.pk,
            "export_cleared": "on",
            "Team_members-TOTAL_FORMS": 1,
            "Team_members-INITIAL_FORMS": 1,
            "Team_members-0-id": membership.pk,
            "Team_members-0-user": planner.pk,
            "Team_members-0-team": team.pk,
            "Team_members-0-DELETE": "on",
        },
    )
    assert response.status_code == 302
    assert not team.members.exists()
    history = admin_client.get(reverse("admin:accounts_user_history", args=[planner.pk])).content.decode()
    assert "Deleted team-user relationship “Final Assembly”." in history
    assert not LogEntry.objects.filter(change_message__contains="object (").exists()
