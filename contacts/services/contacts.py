"""Writes of contacts: create, update, tags, delete, recent views."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from ..models import Contact, RecentView, Tag
from ..signals import crm_change_record, crm_changed_on_commit
from .common import assign_fields, errors_collect, strip_strings, tag_list_resolve

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


def _contact_save(contact: Contact) -> None:
    """Validate every field at once (format, duplicate e-mail, a name or an e-mail), then save."""
    contact.email = (contact.email or "").strip().lower()
    extra = {}
    if contact.email:
        clash = Contact.objects.filter(email__iexact=contact.email)
        if contact.pk:
            clash = clash.exclude(pk=contact.pk)
        if clash.exists():
            extra["email"] = "Another contact already uses this email address."
    if not (contact.first_name or contact.last_name or contact.email):
        extra["first_name"] = "Give the contact a name or an email address."
    errors_collect(contact, extra=extra)
    contact.save()


@transaction.atomic
def contact_create(*, user, tags: Iterable[Tag | str] | None = None, **fields) -> Contact:
    contact = Contact()
    fields = strip_strings(fields)
    if "owner" not in fields and "owner_id" not in fields and user is not None and user.is_authenticated:
        fields["owner"] = user
    assign_fields(contact, fields, CONTACT_FIELDS)
    _contact_save(contact)
    if tags is not None:
        contact.tags.set(tag_list_resolve(tags=tags))
    crm_changed_on_commit(contact_ids=[contact.pk], fact="contact")
    crm_change_record(topic="contact.created", instance=contact, contact_ids=[contact.pk])
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, user, tags: Iterable[Tag | str] | None = None, **fields) -> Contact:
    fields = strip_strings(fields)
    before = {"lifecycle": contact.lifecycle_stage, "owner": contact.owner_id}
    tracked = _snapshot(contact, _CONTACT_TRACKED)
    assign_fields(contact, fields, CONTACT_FIELDS)
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


def protected_text(error: ProtectedError) -> str:
    """What protects a record from deletion, in words: "2 tickets", "1 ticket and 3 invoices"."""
    counts: dict[tuple[str, str], int] = {}
    for obj in error.protected_objects:
        key = (str(obj._meta.verbose_name), str(obj._meta.verbose_name_plural))
        counts[key] = counts.get(key, 0) + 1
    parts = [f"{n} {single if n == 1 else plural}" for (single, plural), n in sorted(counts.items())]
    return " and ".join(parts)


@transaction.atomic
def contact_delete(*, contact: Contact, user) -> None:
    """Delete a contact with its activities, tasks and loyalty ledger.

    Records of other apps that must keep their requester (support tickets) protect the contact: the
    delete is refused with the reason instead of taking them along.
    """
    contact_id = contact.pk
    try:
        with transaction.atomic():
            crm_change_record(topic="contact.deleted", instance=contact, contact_ids=[contact_id])
            contact.delete()
    except ProtectedError as error:
        raise ValidationError(
            f"{contact.full_name} cannot be deleted while {protected_text(error)} "
            f"{'is' if len(error.protected_objects) == 1 else 'are'} linked to the contact: "
            "close and delete them first, or keep the contact."
        ) from error
    crm_changed_on_commit(contact_ids=[contact_id], fact="contact")


@transaction.atomic
def contact_mark_viewed(*, user, contact: Contact) -> RecentView:
    view, _ = RecentView.objects.update_or_create(
        user=user, contact=contact, defaults={"viewed_at": timezone.now()}
    )
    return view
