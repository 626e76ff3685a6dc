from django.db import migrations

from kefu.metering.seed import metering_seed


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    metering_seed(rule_model=apps.get_model("metering", "ValidationRule"))


class Migration(migrations.Migration):
    dependencies = [("metering", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
