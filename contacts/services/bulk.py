"""Writes of the list pages' bulk actions on contacts and companies: a fixed number of queries per action.

The selection is at most a few hundred ids (contacts.lists.bulk.MAX_SELECTION); rows that no longer
exist are skipped. Contacts that support tickets point to are not deleted (the database protects them).
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import PROTECT, ProtectedError, Q
from django.utils import timezone

from ..lists.bulk import UNSET
from ..models import Company, Contact, Tag
from ..search_text import company_part_set
from ..signals import crm_changed_on_commit
from .common import tag_list_resolve


def _existing(model, ids: Iterable[int]) -> list[int]:
    found = list(model.objects.filter(pk__in=list(ids)).values_list("pk", flat=True))
    if not found:
        raise ValidationError(f"None of the selected {model._meta.verbose_name_plural} exists any more.")
    return found


def _tags_named(names: Iterable[str]) -> list[Tag]:
    q = Q()
    for name in names:
        q |= Q(name__iexact=name.strip())
    return list(Tag.objects.filter(q)) if q else []


def _tags_change(
    through, owner_field: str, ids: list[int], *, add: Iterable[str], remove: Iterable[str]
) -> bool:
    changed = False
    if add:
        tags = tag_list_resolve(tags=add)
        through.objects.bulk_create(
            [through(**{owner_field: pk, "tag_id": tag.pk}) for pk in ids for tag in tags],
            ignore_conflicts=True,
        )
        changed = True
    if remove:
        tags = _tags_named(remove)
        if tags:
            through.objects.filter(**{f"{owner_field}__in": ids}, tag__in=tags).delete()
            changed = True
    return changed


@transaction.atomic
def contact_bulk_update(
    *,
    user,
    contact_ids: Iterable[int],
    owner=UNSET,
    lifecycle_stage=UNSET,
    tags_add: Iterable[str] = (),
    tags_remove: Iterable[str] = (),
) -> int:
    """Set the owner and/or lifecycle stage, add and/or remove tags on the selected contacts."""
    if lifecycle_stage is not UNSET and lifecycle_stage not in Contact.Lifecycle.values:
        raise ValidationError({"lifecycle_stage": "Pick a lifecycle stage."})
    ids = _existing(Contact, contact_ids)
    contacts = Contact.objects.filter(pk__in=ids)
    now = timezone.now()
    facts = set()
    if owner is not UNSET:
        contacts.update(owner=owner, updated_at=now)
        facts.add("owner")
    if lifecycle_stage is not UNSET:
        contacts.update(lifecycle_stage=lifecycle_stage, updated_at=now)
        facts.add("lifecycle")
    if _tags_change(Contact.tags.through, "contact_id", ids, add=tags_add, remove=tags_remove):
        contacts.update(updated_at=now)
        facts.add("tag")
    for fact in sorted(facts):
        crm_changed_on_commit(contact_ids=ids, fact=fact)
    return len(ids)


def contact_bulk_delete(*, user, contact_ids: Iterable[int]) -> tuple[int, list[Contact]]:
    """Delete the selected contacts; those with support tickets are kept and returned (with the reason)."""
    ids = _existing(Contact, contact_ids)
    protected: set[int] = set()
    for relation in Contact._meta.related_objects:
        if relation.on_delete is PROTECT:
            related = relation.related_model.objects.filter(**{f"{relation.field.name}__in": ids})
            protected |= set(related.values_list(relation.field.attname, flat=True))
    deletable = [pk for pk in ids if pk not in protected]
    with transaction.atomic():
        try:
            deleted = Contact.objects.filter(pk__in=deletable).delete()[1].get("contacts.Contact", 0)
        except ProtectedError as error:  # a ticket was opened for one of them in the meantime
            raise ValidationError(
                "Some of these contacts just got support tickets; nothing was deleted."
            ) from error
        crm_changed_on_commit(contact_ids=deletable, fact="contact")
    kept = list(Contact.objects.filter(pk__in=protected).order_by("last_name", "first_name", "id"))
    return deleted, kept


@transaction.atomic
def company_bulk_update(
    *,
    user,
    company_ids: Iterable[int],
    owner=UNSET,
    tags_add: Iterable[str] = (),
    tags_remove: Iterable[str] = (),
) -> int:
    ids = _existing(Company, company_ids)
    companies = Company.objects.filter(pk__in=ids)
    now = timezone.now()
    if owner is not UNSET:
        companies.update(owner=owner, updated_at=now)
    if _tags_change(Company.tags.through, "company_id", ids, add=tags_add, remove=tags_remove):
        companies.update(updated_at=now)
    return len(ids)


@transaction.atomic
def company_bulk_delete(*, user, company_ids: Iterable[int]) -> int:
    """Delete the selected companies; their contacts stay (without a company)."""
    ids = _existing(Company, company_ids)
    contact_ids = list(Contact.objects.filter(company_id__in=ids).values_list("pk", flat=True))
    Contact.objects.filter(company_id__in=ids).update(search_text=company_part_set(""))
    deleted = Company.objects.filter(pk__in=ids).delete()[1].get("contacts.Company", 0)
    crm_changed_on_commit(contact_ids=contact_ids, fact="contact")
    return deleted
