"""Carry keys of the retired rest_framework.authtoken table over as read-write ApiTokens (hashed)."""

import hashlib

from django.db import migrations
from django.utils import timezone


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("security", "ApiToken")
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")  # noqa: S608
        rows = cursor.fetchall()
    ApiToken.objects.bulk_create(
        [
            ApiToken(
                user_id=user_id,
                name="Migrated key",
                prefix=key[:8],  # legacy keys are found by their first 8 characters (see tokens.py)
                key_hash=hashlib.sha256(key.encode()).hexdigest(),
                scope="write",
                created_at=created or timezone.now(),
            )
            for key, user_id, created in rows
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("security", "0001_api_tokens_and_audit_log")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
