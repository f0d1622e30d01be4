from django.contrib import admin
from django_tasks_db.models import DBTaskResult

# django-tasks-db lists every task of every organisation, with its arguments and tracebacks;
# the admin of one organisation must see only its own. Jobs are followed on the Jobs page.
admin.site.unregister(DBTaskResult)
