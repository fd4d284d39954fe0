"""Writes of the pipeline: creating and editing deals, and the one service that moves deals between stages."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contacts.signals import crm_change_record, crm_changed_on_commit

from .models import Deal, DealStageChange, Pipeline, Stage

DEAL_EDITABLE_FIELDS = frozenset(
    {"title", "amount", "currency", "expected_close_date", "owner", "contact", "company", "next_step"}
)


def deal_move_check(*, deal: Deal, stage: Stage, lost_reason: str = "") -> None:
    """The stage rules, shared by the service and by forms that want to show errors early."""
    pipeline_id = deal.pipeline_id
    if pipeline_id and stage.pipeline_id != pipeline_id:
        raise ValidationError({"stage": f"Stage '{stage.name}' is not in the deal's pipeline."})
    if stage.kind == Stage.Kind.LOST and not (lost_reason or deal.lost_reason or "").strip():
        raise ValidationError({"lost_reason": f"Say why the deal was lost before moving it to {stage.name}."})


def _closed_at_for(*, deal: Deal, stage: Stage):
    if stage.kind == Stage.Kind.OPEN:
        return None
    if deal.closed_at and deal.stage_id and deal.stage.kind == stage.kind:
        return deal.closed_at  # won -> another won stage keeps the original close time
    return timezone.now()


def _stage_change_record(*, deal: Deal, from_stage: Stage | None, to_stage: Stage, user) -> DealStageChange:
    return DealStageChange.objects.create(
        deal=deal,
        from_stage=from_stage,
        to_stage=to_stage,
        from_stage_name=from_stage.name if from_stage else "",
        to_stage_name=to_stage.name,
        changed_by=user if user and user.is_authenticated else None,
        changed_at=timezone.now(),
        lost_reason=deal.lost_reason if to_stage.kind == Stage.Kind.LOST else "",
    )


def _deal_full_clean(deal: Deal) -> None:
    deal.full_clean(exclude=["pipeline"] if deal.pipeline_id else None)


@transaction.atomic
def deal_create(
    *,
    user,
    title: str,
    stage: Stage | None = None,
    pipeline: Pipeline | None = None,
    amount: Decimal | int | str = Decimal("0"),
    currency: str = "USD",
    lost_reason: str = "",
    **fields,
) -> Deal:
    """Create a deal in `stage` (default: first stage of `pipeline` or of the default pipeline)."""
    unknown = set(fields) - DEAL_EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"unknown deal fields: {sorted(unknown)}")
    if stage is None:
        pipeline = pipeline or pipeline_default()
        stage = pipeline.stages.order_by("position", "id").first()
        if stage is None:
            raise ValidationError({"stage": "The pipeline has no stages yet."})
    pipeline = pipeline or stage.pipeline
    if "owner" not in fields and user is not None and user.is_authenticated:
        fields["owner"] = user
    deal = Deal(
        title=(title or "").strip(),
        pipeline=pipeline,
        stage=stage,
        amount=Decimal(str(amount)),
        currency=currency,
        lost_reason=(lost_reason or "").strip(),
        **fields,
    )
    deal_move_check(deal=deal, stage=stage, lost_reason=deal.lost_reason)
    deal.closed_at = None if stage.kind == Stage.Kind.OPEN else timezone.now()
    _deal_full_clean(deal)
    deal.save()
    _stage_change_record(deal=deal, from_stage=None, to_stage=stage, user=user)
    crm_changed_on_commit(contact_ids=[deal.contact_id], fact="deal")
    crm_change_record(
        topic="deal.created", instance=deal, contact_ids=[deal.contact_id], data={"stage": stage.name}
    )
    return deal


@transaction.atomic
def deal_move(*, deal: Deal, stage: Stage, user, lost_reason: str = "") -> Deal:
    """Move a deal to another stage of its pipeline, recording the change. A no-op if it is already there."""
    locked = Deal.objects.select_for_update().select_related("stage").get(pk=deal.pk)
    lost_reason = (lost_reason or "").strip()
    if locked.stage_id == stage.pk:
        if stage.kind == Stage.Kind.LOST and lost_reason and lost_reason != locked.lost_reason:
            locked.lost_reason = lost_reason
            locked.save(update_fields=["lost_reason", "updated_at"])
        _refresh_from(deal, locked)
        return deal
    deal_move_check(deal=locked, stage=stage, lost_reason=lost_reason)
    from_stage = locked.stage
    locked.closed_at = _closed_at_for(deal=locked, stage=stage)
    locked.stage = stage
    if stage.kind == Stage.Kind.LOST:
        locked.lost_reason = lost_reason or locked.lost_reason
    else:
        locked.lost_reason = ""
    locked.save(update_fields=["stage", "closed_at", "lost_reason", "updated_at"])
    _stage_change_record(deal=locked, from_stage=from_stage, to_stage=stage, user=user)
    crm_changed_on_commit(contact_ids=[locked.contact_id], fact="deal")
    facts = {"stage": stage.name, "from_stage": from_stage.name, "pipeline": locked.pipeline_id}
    crm_change_record(
        topic="deal.stage_changed", instance=locked, contact_ids=[locked.contact_id], data=facts
    )
    if stage.kind in (Stage.Kind.WON, Stage.Kind.LOST) and from_stage.kind != stage.kind:
        crm_change_record(
            topic=f"deal.{stage.kind}", instance=locked, contact_ids=[locked.contact_id], data=facts
        )
    _refresh_from(deal, locked)
    return deal


def _refresh_from(target: Deal, source: Deal) -> None:
    for field in ("stage", "closed_at", "lost_reason", "updated_at"):
        setattr(target, field, getattr(source, field))


@transaction.atomic
def deal_update(
    *, deal: Deal, user, stage: Stage | None = None, lost_reason: str | None = None, **fields
) -> Deal:
    """Edit a deal's fields; a new `stage` goes through `deal_move` so the history is recorded."""
    unknown = set(fields) - DEAL_EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"unknown deal fields: {sorted(unknown)}")
    before_contact, before_amount = deal.contact_id, deal.amount
    for name, value in fields.items():
        if isinstance(value, str) and name not in {"currency"}:
            value = value.strip()
        setattr(deal, name, value)
    if "amount" in fields:
        deal.amount = Decimal(str(deal.amount))
    if lost_reason is not None and (stage is None or stage.pk == deal.stage_id):
        deal.lost_reason = lost_reason.strip()
    if stage is not None and stage.pk != deal.stage_id:
        deal_move_check(deal=deal, stage=stage, lost_reason=lost_reason or "")
        _deal_full_clean(deal)
        deal.save()
        deal_move(deal=deal, stage=stage, user=user, lost_reason=lost_reason or "")
    else:
        _deal_full_clean(deal)
        deal.save()
        if deal.contact_id != before_contact or deal.amount != before_amount:
            crm_changed_on_commit(contact_ids=[deal.contact_id, before_contact], fact="deal")
    return deal


@transaction.atomic
def deal_delete(*, deal: Deal, user) -> None:
    contact_id = deal.contact_id
    deal.delete()
    crm_changed_on_commit(contact_ids=[contact_id], fact="deal")


DEFAULT_PIPELINE_NAME = "Sales"
DEFAULT_STAGES = (
    # name, probability, kind (same as migration 0002, which creates them on a fresh database)
    ("Lead-in", 10, Stage.Kind.OPEN),
    ("Qualified", 25, Stage.Kind.OPEN),
    ("Proposal", 50, Stage.Kind.OPEN),
    ("Negotiation", 75, Stage.Kind.OPEN),
    ("Won", 100, Stage.Kind.WON),
    ("Lost", 0, Stage.Kind.LOST),
)


@transaction.atomic
def pipeline_default_ensure() -> Pipeline | None:
    """Create the default "Sales" pipeline when there is no pipeline at all (e.g. after a flush)."""
    if Pipeline.objects.exists():
        return None
    pipeline = Pipeline.objects.create(name=DEFAULT_PIPELINE_NAME, is_default=True)
    Stage.objects.bulk_create(
        Stage(pipeline=pipeline, name=name, probability=probability, kind=kind, position=position)
        for position, (name, probability, kind) in enumerate(DEFAULT_STAGES, start=1)
    )
    return pipeline


def pipeline_default() -> Pipeline:
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.order_by("id").first()
    if pipeline is None:
        raise ValidationError({"pipeline": "No pipeline exists yet; create one in the admin."})
    return pipeline


@transaction.atomic
def pipeline_save(*, pipeline: Pipeline) -> Pipeline:
    """Save a pipeline; marking it default takes the flag from the previous default (only one may have it)."""
    make_default = pipeline.is_default
    pipeline.is_default = False if pipeline._state.adding else Pipeline.objects.get(pk=pipeline.pk).is_default
    pipeline.full_clean()
    pipeline.save()
    if make_default:
        pipeline_set_default(pipeline=pipeline)
    return pipeline


@transaction.atomic
def pipeline_set_default(*, pipeline: Pipeline) -> Pipeline:
    Pipeline.objects.exclude(pk=pipeline.pk).filter(is_default=True).update(is_default=False)
    if not pipeline.is_default:
        pipeline.is_default = True
        pipeline.save(update_fields=["is_default"])
    return pipeline


# --- bulk actions of the deals list (a fixed number of queries whatever the selection) -----------------


def _existing_ids(deal_ids) -> list[int]:
    ids = list(Deal.objects.filter(pk__in=list(deal_ids)).values_list("pk", flat=True))
    if not ids:
        raise ValidationError("None of the selected deals exists any more.")
    return ids


@transaction.atomic
def deal_bulk_assign(*, user, deal_ids, owner) -> int:
    """Give the selected deals a new owner (None: nobody)."""
    ids = _existing_ids(deal_ids)
    Deal.objects.filter(pk__in=ids).update(owner=owner, updated_at=timezone.now())
    return len(ids)


@transaction.atomic
def deal_bulk_move(*, user, deal_ids, stage: Stage, lost_reason: str = "") -> int:
    """Move the selected deals to `stage` with the same rules and history as `deal_move`.

    Deals of another pipeline refuse the whole move (nothing changes); deals already in the stage are
    left as they are. Returns how many deals moved.
    """
    lost_reason = (lost_reason or "").strip()
    deals = list(Deal.objects.select_for_update().select_related("stage").filter(pk__in=list(deal_ids)))
    if not deals:
        raise ValidationError("None of the selected deals exists any more.")
    elsewhere = [deal for deal in deals if deal.pipeline_id != stage.pipeline_id]
    if elsewhere:
        raise ValidationError(
            {"stage": f"{len(elsewhere)} of the selected deals are in another pipeline than {stage.name}."}
        )
    if stage.kind == Stage.Kind.LOST and not lost_reason:
        raise ValidationError(
            {"lost_reason": f"Say why these deals were lost before moving them to {stage.name}."}
        )
    moving = [deal for deal in deals if deal.stage_id != stage.pk]
    now = timezone.now()
    changes = []
    for deal in moving:
        changes.append(
            DealStageChange(
                deal=deal, from_stage=deal.stage, to_stage=stage, from_stage_name=deal.stage.name,
                to_stage_name=stage.name, changed_by=user if user and user.is_authenticated else None,
                changed_at=now, lost_reason=lost_reason if stage.kind == Stage.Kind.LOST else "",
            )
        )  # fmt: skip
        deal.closed_at = _closed_at_for(deal=deal, stage=stage)
        deal.stage = stage
        deal.lost_reason = lost_reason if stage.kind == Stage.Kind.LOST else ""
        deal.updated_at = now
    Deal.objects.bulk_update(moving, ["stage", "closed_at", "lost_reason", "updated_at"])
    DealStageChange.objects.bulk_create(changes)
    crm_changed_on_commit(contact_ids=[deal.contact_id for deal in moving], fact="deal")
    return len(moving)


@transaction.atomic
def deal_bulk_delete(*, user, deal_ids) -> int:
    ids = _existing_ids(deal_ids)
    contact_ids = list(Deal.objects.filter(pk__in=ids).values_list("contact_id", flat=True))
    deleted = Deal.objects.filter(pk__in=ids).delete()[1].get("pipeline.Deal", 0)
    crm_changed_on_commit(contact_ids=contact_ids, fact="deal")
    return deleted
