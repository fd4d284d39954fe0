"""Celery tasks of unified profiles (names kept from the flat layout; routed to the `ingest` queue by name)."""

from celery import shared_task

from .computed import computed_recompute_all


@shared_task(name="profiles.tasks.computed_traits_recompute_task", ignore_result=True)
def computed_traits_recompute_task() -> None:
    """Windowed computed traits move with the clock even for profiles that send nothing new."""
    computed_recompute_all()
