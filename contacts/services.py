"""Writes of the CRM core: contacts, companies, activities, tasks, loyalty and recent views.

Every function is one transaction, validates with full_clean() and announces changes that matter
to segments through `crm_changed_on_commit` (sent only once the transaction commits).
"""

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from .models import Activity, Company, Contact, LoyaltyAccount, LoyaltyNote, RecentView, Tag, Task
from .signals import crm_change_record, crm_changed_on_commit

CONTACT_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "phone",
        "job_title",
        "company",
        "company_id",
        "owner",
        "owner_id",
        "lifecycle_stage",
        "lead_source",
    }
)
COMPANY_FIELDS = frozenset({"name", "domain", "industry", "size", "phone", "address", "owner", "owner_id"})
ACTIVITY_FIELDS = frozenset(
    {
        "kind",
        "occurred_at",
        "contact",
        "company",
        "deal_id",
        "subject",
        "body",
        "direction",
        "duration_minutes",
    }
)
TASK_FIELDS = frozenset({"title", "due_at", "assignee", "contact", "company", "deal_id", "notes"})
# Fields whose changes are recorded (webhooks, journey triggers), by their attribute names.
_CONTACT_TRACKED = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "company_id",
    "owner_id",
    "lifecycle_stage",
    "lead_source",
)


def _snapshot(instance, names: Iterable[str]) -> dict:
    return {name: getattr(instance, name) for name in names}


def _changed(before: dict, instance) -> dict[str, list]:
    """field -> [old, new] (strings or ids) for the fields whose value changed."""
    changed = {}
    for name, old in before.items():
        new = getattr(instance, name)
        if str(old or "") != str(new or ""):
            changed[name] = [None if old in (None, "") else str(old), None if new in (None, "") else str(new)]
    return changed


def _assign(instance, fields: dict, allowed: frozenset[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unknown fields for {type(instance).__name__}: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(instance, name, value)


def _strip_strings(fields: dict) -> dict:
    return {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()}


# --- tags -------------------------------------------------------------------------------------------


def tag_list_resolve(*, tags: Iterable[Tag | str]) -> list[Tag]:
    """Tag objects for a mix of Tag objects and names; unknown names are created."""
    resolved: list[Tag] = []
    names: list[str] = []
    for tag in tags:
        if isinstance(tag, Tag):
            resolved.append(tag)
        elif str(tag).strip():
            names.append(str(tag).strip())
    if names:
        existing = {t.name.lower(): t for t in Tag.objects.filter(name__in=names)}
        for name in dict.fromkeys(names):
            tag = existing.get(name.lower())
            if tag is None:
                tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name[:60])
                existing[name.lower()] = tag
            resolved.append(tag)
    return list({t.pk: t for t in resolved}.values())


# --- contacts ---------------------------------------------------------------------------------------


def _contact_validate_email(contact: Contact) -> None:
    contact.email = (contact.email or "").strip().lower()
    if contact.email:
        clash = Contact.objects.filter(email__iexact=contact.email)
        if contact.pk:
            clash = clash.exclude(pk=contact.pk)
        if clash.exists():
            raise ValidationError({"email": "Another contact already uses this email address."})


def _contact_save(contact: Contact) -> None:
    _contact_validate_email(contact)
    if not (contact.first_name or contact.last_name or contact.email):
        raise ValidationError({"first_name": "Give the contact a name or an email address."})
    contact.full_clean(validate_constraints=False)
    contact.save()


@transaction.atomic
def contact_create(*, user, tags: Iterable[Tag | str] | None = None, **fields) -> Contact:
    contact = Contact()
    fields = _strip_strings(fields)
    if "owner" not in fields and "owner_id" not in fields and user is not None and user.is_authenticated:
        fields["owner"] = user
    _assign(contact, fields, CONTACT_FIELDS)
    _contact_save(contact)
    if tags is not None:
        contact.tags.set(tag_list_resolve(tags=tags))
    crm_changed_on_commit(contact_ids=[contact.pk], fact="contact")
    crm_change_record(topic="contact.created", instance=contact, contact_ids=[contact.pk])
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, user, tags: Iterable[Tag | str] | None = None, **fields) -> Contact:
    fields = _strip_strings(fields)
    before = {"lifecycle": contact.lifecycle_stage, "owner": contact.owner_id}
    tracked = _snapshot(contact, _CONTACT_TRACKED)
    _assign(contact, fields, CONTACT_FIELDS)
    _contact_save(contact)
    facts = {"contact"}
    if contact.lifecycle_stage != before["lifecycle"]:
        facts.add("lifecycle")
    if contact.owner_id != before["owner"]:
        facts.add("owner")
    if tags is not None:
        new_tags = tag_list_resolve(tags=tags)
        old_ids = set(contact.tags.values_list("pk", flat=True))
        if {t.pk for t in new_tags} != old_ids:
            contact.tags.set(new_tags)
            facts.add("tag")
    for fact in sorted(facts):
        crm_changed_on_commit(contact_ids=[contact.pk], fact=fact)
    changed = _changed(tracked, contact)
    if changed or "tag" in facts:
        crm_change_record(
            topic="contact.updated", instance=contact, contact_ids=[contact.pk], data={"fields": changed}
        )
    return contact


@transaction.atomic
def contact_tags_set(*, contact: Contact, user, tags: Iterable[Tag | str]) -> Contact:
    contact.tags.set(tag_list_resolve(tags=tags))
    crm_changed_on_commit(contact_ids=[contact.pk], fact="tag")
    crm_change_record(
        topic="contact.updated", instance=contact, contact_ids=[contact.pk], data={"fields": {}}
    )
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact, user) -> None:
    contact_id = contact.pk
    crm_change_record(topic="contact.deleted", instance=contact, contact_ids=[contact_id])
    contact.delete()
    crm_changed_on_commit(contact_ids=[contact_id], fact="contact")


@transaction.atomic
def contact_mark_viewed(*, user, contact: Contact) -> RecentView:
    view, _ = RecentView.objects.update_or_create(
        user=user, contact=contact, defaults={"viewed_at": timezone.now()}
    )
    return view


# --- companies --------------------------------------------------------------------------------------


def _company_save(company: Company) -> None:
    company.domain = (company.domain or "").strip().lower()
    for prefix in ("https://", "http://"):
        company.domain = company.domain.removeprefix(prefix)
    company.domain = company.domain.rstrip("/")
    if company.domain:
        clash = Company.objects.filter(domain__iexact=company.domain)
        if company.pk:
            clash = clash.exclude(pk=company.pk)
        if clash.exists():
            raise ValidationError({"domain": "Another company already uses this domain."})
    company.full_clean(validate_constraints=False)
    company.save()


@transaction.atomic
def company_create(*, user, **fields) -> Company:
    company = Company()
    fields = _strip_strings(fields)
    if "owner" not in fields and "owner_id" not in fields and user is not None and user.is_authenticated:
        fields["owner"] = user
    _assign(company, fields, COMPANY_FIELDS)
    _company_save(company)
    crm_change_record(topic="company.created", instance=company)
    return company


@transaction.atomic
def company_update(*, company: Company, user, **fields) -> Company:
    _assign(company, _strip_strings(fields), COMPANY_FIELDS)
    _company_save(company)
    contact_ids = list(company.contacts.values_list("pk", flat=True))
    crm_changed_on_commit(contact_ids=contact_ids, fact="contact")
    crm_change_record(topic="company.updated", instance=company)
    return company


@transaction.atomic
def company_delete(*, company: Company, user) -> None:
    contact_ids = list(company.contacts.values_list("pk", flat=True))
    crm_change_record(topic="company.deleted", instance=company)
    company.delete()
    crm_changed_on_commit(contact_ids=contact_ids, fact="contact")


# --- activities -------------------------------------------------------------------------------------


def _activity_save(activity: Activity) -> None:
    if activity.contact_id is None and activity.company_id is None:
        raise ValidationError({"contact": "An activity needs a contact or a company."})
    if activity.kind in (Activity.Kind.NOTE,) and not (activity.body or activity.subject):
        raise ValidationError({"body": "Write something in the note."})
    if activity.kind != Activity.Kind.NOTE and not (activity.subject or activity.body):
        raise ValidationError({"subject": "Give a subject or a summary."})
    activity.full_clean()
    activity.save()


@transaction.atomic
def activity_create(
    *,
    author,
    kind: str,
    occurred_at: datetime.datetime | None = None,
    contact: Contact | None = None,
    company: Company | None = None,
    deal_id: int | None = None,
    subject: str = "",
    body: str = "",
    direction: str = "",
    duration_minutes: int | None = None,
) -> Activity:
    activity = Activity(
        kind=kind,
        occurred_at=occurred_at or timezone.now(),
        contact=contact,
        company=company,
        deal_id=deal_id,
        subject=(subject or "").strip(),
        body=(body or "").strip(),
        direction=direction or "",
        duration_minutes=duration_minutes,
        author=author,
    )
    _activity_save(activity)
    crm_change_record(topic="activity.created", instance=activity, contact_ids=[activity.contact_id])
    return activity


@transaction.atomic
def activity_update(*, activity: Activity, user, **fields) -> Activity:
    _assign(activity, _strip_strings(fields), ACTIVITY_FIELDS)
    _activity_save(activity)
    return activity


# --- tasks ------------------------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *,
    created_by,
    title: str,
    due_at: datetime.datetime | None = None,
    assignee=None,
    contact: Contact | None = None,
    company: Company | None = None,
    deal_id: int | None = None,
    notes: str = "",
) -> Task:
    task = Task(
        title=(title or "").strip(),
        due_at=due_at,
        assignee=assignee if assignee is not None else created_by,
        contact=contact,
        company=company,
        deal_id=deal_id,
        notes=(notes or "").strip(),
        created_by=created_by,
    )
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def task_update(*, task: Task, user, **fields) -> Task:
    _assign(task, _strip_strings(fields), TASK_FIELDS)
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def task_complete(*, task: Task, user) -> Task:
    if task.done_at is None:
        task.done_at = timezone.now()
        task.save(update_fields=["done_at"])
    return task


@transaction.atomic
def task_reopen(*, task: Task, user) -> Task:
    if task.done_at is not None:
        task.done_at = None
        task.save(update_fields=["done_at"])
    return task


# --- loyalty ----------------------------------------------------------------------------------------

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
        raise ValidationError({"points_delta": "Earned points must be positive."})
    if kind == LoyaltyNote.Kind.REDEEMED and delta > 0:
        raise ValidationError({"points_delta": "Redeemed points must be negative."})
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
