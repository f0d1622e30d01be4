"""Jobs: work that outgrows a request, run by a worker, with progress a person can watch (SPEC §13).

A `Job` row is ours: who asked, what for, how far it got, what it found and what it made. The
queue itself is Django's Tasks API with django-tasks-db's `DatabaseBackend`, so it lives in
the same PostgreSQL (or the demo's SQLite) and needs no broker. An app's task (e.g.
`runs.tasks.export_runs`) takes a job id and does its work inside `running(job)`, which marks
the job running, done or failed and lets the work report progress.
"""
