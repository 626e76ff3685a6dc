"""Seed the category tree and the starting articles. Uses the app's own seed code (not historical
models) because publishing also fills the search index; ``knowledge_seed`` is idempotent."""

from django.db import migrations


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    from kefu.knowledge.seed import knowledge_seed

    knowledge_seed()


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_search_index"), ("org", "0002_alter_staffrole_role")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
