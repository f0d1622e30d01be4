"""Runs page search: a trigram index on the run name, on PostgreSQL only.

`name__icontains` becomes `UPPER(name) LIKE '%…%'`, which a B-tree cannot serve; with
pg_trgm a GIN index on UPPER(name) answers it. SQLite (the demo) has no such index and
searches by scanning, which is fine at demo sizes. If the database user may not create
the extension, the index is skipped and search still works, only slower.
"""

from django.db import DatabaseError, migrations, transaction


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError:
        print("\n  pg_trgm is not available: the Runs page search will scan run names.")
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS run_name_trgm_idx ON runs_run USING gin (UPPER(name::text) gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS run_name_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("runs", "0004_work_page_indexes")]

    operations = [migrations.RunPython(create_index, drop_index)]
