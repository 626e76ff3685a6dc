from django.db import migrations

from kefu.outages.seed import outage_policy_seed


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    outage_policy_seed(rule_model=apps.get_model("outages", "NoticeRule"),
                       grouping_model=apps.get_model("outages", "GroupingRule"),
                       template_model=apps.get_model("outages", "MessageTemplate"))


class Migration(migrations.Migration):
    dependencies = [("outages", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
