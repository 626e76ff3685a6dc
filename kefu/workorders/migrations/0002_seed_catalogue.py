from django.db import migrations

from kefu.workorders.seed import catalogue_seed


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    catalogue_seed(
        type_model=apps.get_model("workorders", "OrderType"),
        policy_model=apps.get_model("workorders", "SlaPolicy"),
        level_model=apps.get_model("workorders", "WarningLevel"),
    )


class Migration(migrations.Migration):
    dependencies = [("workorders", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
