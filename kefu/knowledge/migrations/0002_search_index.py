"""The database's own full-text structures over ``SearchEntry`` (see ``kefu.knowledge.search``): one
over title, tags and body, and a small one over titles and tags only, from which title matches are
ranked without touching every body that holds a common word."""

from django.db import migrations


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            "CREATE VIRTUAL TABLE knowledge_fts USING fts5(title_terms, tag_terms, body_terms, "
            "tokenize = 'unicode61 remove_diacritics 0')"
        )
        schema_editor.execute(
            "CREATE VIRTUAL TABLE knowledge_fts_head USING fts5(title_terms, tag_terms, "
            "tokenize = 'unicode61 remove_diacritics 0')"
        )
    else:
        schema_editor.execute("ALTER TABLE knowledge_searchentry ADD COLUMN document tsvector NOT NULL DEFAULT ''")
        schema_editor.execute("ALTER TABLE knowledge_searchentry ADD COLUMN head tsvector NOT NULL DEFAULT ''")
        schema_editor.execute("CREATE INDEX knowledge_doc_gin ON knowledge_searchentry USING gin (document)")
        schema_editor.execute("CREATE INDEX knowledge_head_gin ON knowledge_searchentry USING gin (head)")


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS knowledge_fts")
        schema_editor.execute("DROP TABLE IF EXISTS knowledge_fts_head")
    else:
        schema_editor.execute("DROP INDEX IF EXISTS knowledge_doc_gin")
        schema_editor.execute("DROP INDEX IF EXISTS knowledge_head_gin")
        schema_editor.execute("ALTER TABLE knowledge_searchentry DROP COLUMN IF EXISTS document")
        schema_editor.execute("ALTER TABLE knowledge_searchentry DROP COLUMN IF EXISTS head")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
