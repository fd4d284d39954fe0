"""Trigram index for contains-search of ticket subjects (PostgreSQL only; the extension comes from contacts)."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS ticket_subject_trgm ON tickets_ticket "
            "USING gin (upper(subject::text) gin_trgm_ops)"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS ticket_subject_trgm")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0004_ticket_contact_protected"), ("contacts", "0004_search_trigram_indexes")]

    operations = [migrations.RunPython(forward, backward)]
