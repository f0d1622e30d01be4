"""Partial indexes over open runs for the work pages at a million runs (issue 10, goal 4).

The Schedule counts a day's open runs and lists overdue ones from `run_open_due_idx` alone
(export flag included); My work and team queues walk a person's or team's open runs by due
date. Covering columns (INCLUDE) exist on PostgreSQL only; SQLite builds the plain indexes.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_api_tokens'),
        ('inventory', '0001_initial'),
        ('procedures', '0001_initial'),
        ('runs', '0006_run_events'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='run',
            index=models.Index(condition=models.Q(('status__in', ['todo', 'in_progress', 'hold'])), fields=['organisation', 'due_date', 'number'], include=('export_controlled',), name='run_open_due_idx'),
        ),
        migrations.AddIndex(
            model_name='run',
            index=models.Index(condition=models.Q(('assigned_user__isnull', False), ('status__in', ['todo', 'in_progress', 'hold'])), fields=['assigned_user', 'due_date', 'number'], include=('organisation', 'export_controlled'), name='run_open_user_due_idx'),
        ),
        migrations.AddIndex(
            model_name='run',
            index=models.Index(condition=models.Q(('assigned_team__isnull', False), ('status__in', ['todo', 'in_progress', 'hold'])), fields=['assigned_team', 'due_date', 'number'], include=('organisation', 'export_controlled'), name='run_open_team_due_idx'),
        ),
    ]
