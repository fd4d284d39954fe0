"""One normalised search column per contact with one trigram index; the four per-column indexes go.

The column is filled in batches of BATCH contacts by id (about a minute per million on PostgreSQL) with
the same rule save() uses (contacts/search_text.py); the trigram index is built after the fill.
"""

from django.db import migrations, models

from contacts.search_text import search_text_for

BATCH = 5000
OLD_INDEXES = {
    "contact_first_name_trgm": "contacts_contact USING gin (upper(first_name::text) gin_trgm_ops)",
    "contact_last_name_trgm": "contacts_contact USING gin (upper(last_name::text) gin_trgm_ops)",
    "contact_email_trgm": "contacts_contact USING gin (upper(email::text) gin_trgm_ops)",
    "contact_phone_trgm": "contacts_contact USING gin (phone gin_trgm_ops)",
}
INDEX = "CREATE INDEX IF NOT EXISTS contact_search_text_trgm ON contacts_contact USING gin (search_text gin_trgm_ops)"


def fill(apps, schema_editor):
    Contact = apps.get_model("contacts", "Contact")
    postgres = _postgres(schema_editor)
    last = 0
    with schema_editor.connection.cursor() as cursor:
        while True:
            rows = list(
                Contact.objects.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", "first_name", "last_name", "email", "phone", "company__name")[:BATCH]
            )
            if not rows:
                break
            last = rows[-1][0]
            texts = [
                search_text_for(first_name=f, last_name=n, email=e, phone=p, company_name=c or "")
                for _, f, n, e, p, c in rows
            ]
            ids = [row[0] for row in rows]
            if postgres:
                cursor.execute(
                    "UPDATE contacts_contact AS c SET search_text = v.t"
                    " FROM unnest(%s::bigint[], %s::text[]) AS v(id, t) WHERE c.id = v.id",
                    [ids, texts],
                )
            else:
                cursor.executemany(
                    "UPDATE contacts_contact SET search_text = %s WHERE id = %s",
                    list(zip(texts, ids, strict=True)),
                )


def _postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def old_indexes_drop(apps, schema_editor):
    # Before the fill: each updated row would otherwise add entries to four GIN indexes.
    if _postgres(schema_editor):
        for name in OLD_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def old_indexes_create(apps, schema_editor):
    if _postgres(schema_editor):
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, target in OLD_INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def index_create(apps, schema_editor):
    if _postgres(schema_editor):
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(INDEX)
        schema_editor.execute("ANALYZE contacts_contact")


def index_drop(apps, schema_editor):
    if _postgres(schema_editor):
        schema_editor.execute("DROP INDEX IF EXISTS contact_search_text_trgm")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0005_readable_constraint_messages")]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(old_indexes_drop, old_indexes_create),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(index_create, index_drop),
    ]
