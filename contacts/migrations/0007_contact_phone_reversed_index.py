"""A B-tree index on the reversed phone (PostgreSQL only): a typed whole number is a prefix lookup there."""

from django.db import migrations

INDEX = "contact_phone_reversed"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON contacts_contact (reverse(phone::text) text_pattern_ops)"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0006_contact_search_text")]

    operations = [migrations.RunPython(forward, backward)]
