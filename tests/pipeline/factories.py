"""Factories for pipelines, stages and deals (deals are made through the service so history exists)."""

from decimal import Decimal

import factory

from pipeline import services
from pipeline.models import Deal, Pipeline, Stage
from tests.contacts.factories import CompanyFactory


class PipelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pipeline

    name = factory.Sequence(lambda n: f"Pipeline {n}")


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    pipeline = factory.SubFactory(PipelineFactory)
    name = factory.Sequence(lambda n: f"Stage {n}")
    position = factory.Sequence(int)
    probability = 50
    kind = Stage.Kind.OPEN


def sales_pipeline() -> Pipeline:
    """The "Sales" pipeline created by the data migration."""
    return Pipeline.objects.get(name="Sales")


def stage(name: str, pipeline: Pipeline | None = None) -> Stage:
    return (pipeline or sales_pipeline()).stages.get(name=name)


def deal_make(*, user, stage_name: str = "Lead-in", amount="1000", company=None, **fields) -> Deal:
    if company is None and "contact" not in fields:
        company = CompanyFactory()
    return services.deal_create(
        user=user,
        title=fields.pop("title", "Deal"),
        stage=stage(stage_name),
        amount=Decimal(str(amount)),
        company=company,
        lost_reason=fields.pop("lost_reason", "Too expensive" if stage_name == "Lost" else ""),
        **fields,
    )
