"""Writes of the queue's bulk actions that tickets/services.py does not hold: tags and delete.

Kept apart from services.py while that module is being split; status and assignee changes go through
`services.ticket_bulk_update`, which records a TicketEvent per ticket. Fixed queries per action here.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import Tag
from contacts.services import tag_list_resolve
from contacts.signals import crm_changed_on_commit

from .models import Ticket


def _existing(ticket_ids: Iterable[int]) -> list[int]:
    ids = list(Ticket.objects.filter(pk__in=list(ticket_ids)).values_list("pk", flat=True))
    if not ids:
        raise ValidationError("None of the selected tickets exists any more.")
    return ids


@transaction.atomic
def ticket_bulk_tags(
    *, user, ticket_ids: Iterable[int], add: Iterable[str] = (), remove: Iterable[str] = ()
) -> int:
    """Add and/or remove tags on the selected tickets."""
    ids = _existing(ticket_ids)
    through = Ticket.tags.through
    if add:
        tags = tag_list_resolve(tags=add)
        through.objects.bulk_create(
            [through(ticket_id=pk, tag_id=tag.pk) for pk in ids for tag in tags], ignore_conflicts=True
        )
    if remove:
        names = Q()
        for name in remove:
            names |= Q(name__iexact=name)
        through.objects.filter(ticket_id__in=ids, tag__in=Tag.objects.filter(names)).delete()
    Ticket.objects.filter(pk__in=ids).update(updated_at=timezone.now())
    return len(ids)


@transaction.atomic
def ticket_bulk_delete(*, user, ticket_ids: Iterable[int]) -> int:
    """Delete the selected tickets with their conversation and history."""
    ids = _existing(ticket_ids)
    contact_ids = list(Ticket.objects.filter(pk__in=ids).values_list("contact_id", flat=True))
    deleted = Ticket.objects.filter(pk__in=ids).delete()[1].get("tickets.Ticket", 0)
    crm_changed_on_commit(contact_ids=contact_ids, fact="ticket")
    return deleted
