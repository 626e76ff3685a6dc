from django.db import migrations

from kefu.core.calendar_seed import calendar_seed


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    calendar_seed(model=apps.get_model("core", "CalendarDay"))


class Migration(migrations.Migration):
    dependencies = [("core", "0003_calendar_day")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
