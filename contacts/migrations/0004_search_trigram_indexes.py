"""Trigram indexes for contains-search of contacts and companies (PostgreSQL only; SQLite scans).

`upper(col::text) LIKE upper('%term%')` is the SQL Django writes for icontains on PostgreSQL, so the
indexes are on exactly that expression. Phones are stored E.164; digit searches use `phone LIKE '%...%'`.
"""

from django.db import migrations

INDEXES = {
    "contact_first_name_trgm": "contacts_contact USING gin (upper(first_name::text) gin_trgm_ops)",
    "contact_last_name_trgm": "contacts_contact USING gin (upper(last_name::text) gin_trgm_ops)",
    "contact_email_trgm": "contacts_contact USING gin (upper(email::text) gin_trgm_ops)",
    "contact_phone_trgm": "contacts_contact USING gin (phone gin_trgm_ops)",
    "company_name_trgm": "contacts_company USING gin (upper(name::text) gin_trgm_ops)",
    "company_domain_trgm": "contacts_company USING gin (upper(domain::text) gin_trgm_ops)",
    "company_industry_trgm": "contacts_company USING gin (upper(industry::text) gin_trgm_ops)",
    "company_phone_trgm": "contacts_company USING gin (phone gin_trgm_ops)",
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, target in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0003_company_domain_validated")]

    operations = [migrations.RunPython(forward, backward)]
