"""Trigram index for contains-search of deal titles (PostgreSQL only; the extension comes from contacts)."""

from django.db import migrations


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS deal_title_trgm ON pipeline_deal USING gin (upper(title::text) gin_trgm_ops)"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS deal_title_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0004_currencies_rates_board_indexes"),
        ("contacts", "0004_search_trigram_indexes"),
    ]

    operations = [migrations.RunPython(forward, backward)]
