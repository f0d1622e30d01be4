"""The demo groups of SPEC §7: Planner creates runs, Operator views and picks up, Admin curates."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "Planner": [
        "runs.add_run", "runs.view_run", "runs.add_runbatch", "runs.view_runbatch",
        "inventory.view_part", "inventory.view_partinventory", "procedures.view_procedureversion",
    ],
    "Operator": [
        "runs.view_run", "runs.pick_up_run", "runs.view_runbatch",
        "inventory.view_part", "inventory.view_partinventory", "procedures.view_procedureversion",
    ],
    "Admin": [
        f"{app}.{action}_{model}"
        for app, models in {
            "inventory": ["part", "partinventory"],
            "procedures": ["procedure", "procedureversion", "procedurestep", "stepfield"],
            "runs": ["run", "runbatch", "runattributedefinition"],
            "accounts": ["user", "team"],
        }.items()
        for model in models
        for action in ("add", "change", "delete", "view")
    ] + ["runs.pick_up_run"],
}


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0001_initial"),
        ("inventory", "0001_initial"),
        ("procedures", "0001_initial"),
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
