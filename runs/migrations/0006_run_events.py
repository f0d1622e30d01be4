"""The history of every change to a run (SPEC §9); runs made before it get their "created" event."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('runs', '0005_run_name_trigram_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='RunEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('created', 'Created'), ('assigned', 'Reassigned'), ('picked_up', 'Picked up'), ('rescheduled', 'Due date changed'), ('renamed', 'Renamed'), ('batched', 'Added to batch'), ('unbatched', 'Removed from batch'), ('canceled', 'Canceled'), ('status_changed', 'Status changed')], max_length=20)),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('before', models.CharField(blank=True, max_length=300)),
                ('after', models.CharField(blank=True, max_length=300)),
                ('reason', models.TextField(blank=True)),
                ('creation_token', models.UUIDField(blank=True, null=True)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('batch', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='events', to='runs.runbatch')),
                ('run', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='runs.run')),
            ],
            options={
                'ordering': ['-at', '-id'],
                'indexes': [models.Index(fields=['run', '-at', '-id'], name='run_event_run_idx'), models.Index(condition=models.Q(('kind__in', ['batched', 'unbatched'])), fields=['batch', '-at', '-id'], name='run_event_batching_idx')],
            },
        ),
        # The runs that exist already get the event creation would have written for them.
        migrations.RunSQL(
            """
            INSERT INTO runs_runevent (run_id, kind, actor_id, at, before, after, reason, batch_id, creation_token)
            SELECT id, 'created', created_by_id, created_at, '', '', '', batch_id, creation_token
            FROM runs_run
            """,
            migrations.RunSQL.noop,
        ),
    ]
