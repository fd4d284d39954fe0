"""Create the default "Sales" pipeline with its six stages."""

from django.db import migrations

DEFAULT_STAGES = (
    # name, probability, kind
    ("Lead-in", 10, "open"),
    ("Qualified", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
)


def create_default_pipeline(apps, schema_editor):
    Pipeline = apps.get_model("pipeline", "Pipeline")
    Stage = apps.get_model("pipeline", "Stage")
    pipeline, _ = Pipeline.objects.get_or_create(name="Sales", defaults={"is_default": True})
    for position, (name, probability, kind) in enumerate(DEFAULT_STAGES, start=1):
        Stage.objects.get_or_create(
            pipeline=pipeline,
            name=name,
            defaults={"probability": probability, "kind": kind, "position": position},
        )


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0001_initial")]

    operations = [migrations.RunPython(create_default_pipeline, migrations.RunPython.noop)]
