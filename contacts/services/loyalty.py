"""Writes of the loyalty ledger: enrolment, points, tier changes, notes."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from ..models import Contact, LoyaltyAccount, LoyaltyNote
from ..signals import crm_change_record, crm_changed_on_commit

POINT_KINDS = frozenset({LoyaltyNote.Kind.EARNED, LoyaltyNote.Kind.REDEEMED, LoyaltyNote.Kind.ADJUSTED})


@transaction.atomic
def loyalty_enroll(
    *, contact: Contact, user, tier: str = "bronze", member_since: datetime.date | None = None
) -> LoyaltyAccount:
    if LoyaltyAccount.objects.filter(contact=contact).exists():
        raise ValidationError({"contact": "This contact is already a loyalty member."})
    account = LoyaltyAccount(
        contact=contact, tier=tier, member_since=member_since or timezone.localdate(), points_balance=0
    )
    account.full_clean()
    account.save()
    LoyaltyNote.objects.create(
        account=account,
        kind=LoyaltyNote.Kind.NOTE,
        text=f"Enrolled in {account.program} ({account.get_tier_display()}).",
        author=user,
        created_at=timezone.now(),
    )
    crm_changed_on_commit(contact_ids=[contact.pk], fact="loyalty")
    return account


@transaction.atomic
def loyalty_points_add(
    *, account: LoyaltyAccount, user, delta: int, kind: str, text: str = ""
) -> LoyaltyNote:
    """Add (or, with a negative delta, take) points; the balance stays the sum of the ledger's deltas."""
    if kind not in POINT_KINDS:
        raise ValidationError({"kind": "Points can only be earned, redeemed or adjusted."})
    try:
        delta = int(delta)
    except (TypeError, ValueError):
        raise ValidationError({"points_delta": "Enter a whole number of points."}) from None
    if delta == 0:
        raise ValidationError({"points_delta": "The number of points cannot be zero."})
    if kind == LoyaltyNote.Kind.EARNED and delta < 0:
        raise ValidationError(
            {"points_delta": "Added points are a positive number; to take points away, adjust or redeem."}
        )
    if kind == LoyaltyNote.Kind.REDEEMED and delta > 0:
        raise ValidationError(
            {
                "points_delta": "Redeemed points leave the balance: give how many to redeem as a positive number."
            }
        )
    locked = LoyaltyAccount.objects.select_for_update().get(pk=account.pk)
    new_balance = locked.points_balance + delta
    if new_balance < 0:
        raise ValidationError({"points_delta": f"Not enough points: the balance is {locked.points_balance}."})
    locked.points_balance = new_balance
    locked.save(update_fields=["points_balance", "updated_at"])
    account.points_balance = new_balance
    note = LoyaltyNote.objects.create(
        account=locked,
        kind=kind,
        points_delta=delta,
        text=(text or "").strip(),
        author=user,
        created_at=timezone.now(),
    )
    crm_changed_on_commit(contact_ids=[locked.contact_id], fact="loyalty")
    return note


@transaction.atomic
def loyalty_tier_change(*, account: LoyaltyAccount, user, tier: str, text: str = "") -> LoyaltyNote:
    if tier not in LoyaltyAccount.Tier.values:
        raise ValidationError({"tier": f"Unknown tier {tier!r}."})
    locked = LoyaltyAccount.objects.select_for_update().get(pk=account.pk)
    if locked.tier == tier:
        raise ValidationError({"tier": "The member is already in this tier."})
    previous = locked.tier
    locked.tier = tier
    locked.save(update_fields=["tier", "updated_at"])
    account.tier = tier
    note = LoyaltyNote.objects.create(
        account=locked,
        kind=LoyaltyNote.Kind.TIER_CHANGE,
        tier_from=previous,
        tier_to=tier,
        text=(text or "").strip(),
        author=user,
        created_at=timezone.now(),
    )
    crm_changed_on_commit(contact_ids=[locked.contact_id], fact="loyalty")
    crm_change_record(
        topic="loyalty.tier_changed",
        instance=locked,
        contact_ids=[locked.contact_id],
        data={"fields": {"tier": [previous, tier]}},
    )
    return note


@transaction.atomic
def loyalty_note_add(*, account: LoyaltyAccount, user, text: str) -> LoyaltyNote:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the note."})
    return LoyaltyNote.objects.create(
        account=account, kind=LoyaltyNote.Kind.NOTE, text=text, author=user, created_at=timezone.now()
    )


def loyalty_balance_matches_ledger(account: LoyaltyAccount) -> bool:
    total = (
        LoyaltyNote.objects.filter(account_id=account.pk).aggregate(total=Sum("points_delta"))["total"] or 0
    )
    balance = LoyaltyAccount.objects.values_list("points_balance", flat=True).get(pk=account.pk)
    return balance == total
