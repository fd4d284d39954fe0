"""Make the database refuse a deal whose stage belongs to another pipeline.

PostgreSQL: a composite foreign key deal(pipeline_id, stage_id) -> stage(pipeline_id, id).
SQLite cannot add a constraint to an existing table, so triggers do the same check there.
A later migration that rebuilds pipeline_deal on SQLite must create the triggers again (see 0004).
"""

from django.db import migrations

PG_FORWARD = """
ALTER TABLE pipeline_deal ADD CONSTRAINT deal_stage_in_pipeline_fk
FOREIGN KEY (pipeline_id, stage_id) REFERENCES pipeline_stage (pipeline_id, id);
"""
PG_BACKWARD = "ALTER TABLE pipeline_deal DROP CONSTRAINT deal_stage_in_pipeline_fk;"

SQLITE_CHECK = """
CREATE TRIGGER deal_stage_in_pipeline_{event}
BEFORE {event} ON pipeline_deal
FOR EACH ROW
WHEN NOT EXISTS (SELECT 1 FROM pipeline_stage WHERE id = NEW.stage_id AND pipeline_id = NEW.pipeline_id)
BEGIN
    SELECT RAISE(ABORT, 'deal_stage_in_pipeline: the stage belongs to another pipeline');
END;
"""


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        for event in ("INSERT", "UPDATE"):
            schema_editor.execute(SQLITE_CHECK.format(event=event))


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for event in ("INSERT", "UPDATE"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS deal_stage_in_pipeline_{event};")


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0002_default_sales_pipeline")]

    operations = [migrations.RunPython(forward, backward)]
