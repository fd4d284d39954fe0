"""State changes of a ticket: status (and the SLA pause), priority, assignee, team, tags, rating, bulk."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contacts.models import Tag
from contacts.services import tag_list_resolve
from contacts.signals import crm_changed_on_commit

from ..models import DONE_STATUSES, PAUSED_STATUSES, Priority, Status, Team, Ticket, TicketEvent
from ..sla import sla_due_times
from .common import UNCHANGED, _check_choice, _display_user, _event, _locked


def _status_apply(*, ticket: Ticket, user, status: str, now) -> None:
    old = ticket.status
    if ticket.paused_at is not None and status not in PAUSED_STATUSES:
        pause = now - ticket.paused_at
        ticket.paused_seconds += int(pause.total_seconds())
        ticket.resolution_due_at = ticket.resolution_due_at + pause if ticket.resolution_due_at else None
        ticket.paused_at = None
    if status in PAUSED_STATUSES and ticket.paused_at is None:
        ticket.paused_at = now
    if status == Status.SOLVED:
        ticket.solved_at = now
    elif status not in DONE_STATUSES:
        ticket.solved_at = None
    ticket.status = status
    ticket.save(
        update_fields=[
            "status",
            "paused_at",
            "paused_seconds",
            "resolution_due_at",
            "solved_at",
            "updated_at",
        ]
    )
    _event(
        ticket=ticket,
        actor=user,
        field=TicketEvent.Field.STATUS,
        from_value=Status(old).label,
        to_value=Status(status).label,
        at=now,
    )
    crm_changed_on_commit(contact_ids=[ticket.contact_id], fact="ticket")


@transaction.atomic
def ticket_status_change(*, user, ticket: Ticket, status: str) -> Ticket:
    _check_choice(status, Status, "status")
    ticket = _locked(ticket)
    if status == ticket.status:
        return ticket
    if ticket.status == Status.CLOSED:
        raise ValidationError({"status": "A closed ticket cannot change; open a new ticket instead."})
    if status == Status.CLOSED and ticket.status != Status.SOLVED:
        raise ValidationError({"status": "Solve the ticket before closing it."})
    if status == Status.NEW:
        raise ValidationError({"status": "A ticket cannot go back to new."})
    _status_apply(ticket=ticket, user=user, status=status, now=timezone.now())
    return ticket


@transaction.atomic
def ticket_priority_change(*, user, ticket: Ticket, priority: str) -> Ticket:
    """A new priority brings new SLA targets, counted from creation (finished pauses still count)."""
    _check_choice(priority, Priority, "priority")
    ticket = _locked(ticket)
    if priority == ticket.priority:
        return ticket
    old = ticket.priority
    ticket.priority = priority
    ticket.first_response_due_at, ticket.resolution_due_at = sla_due_times(
        created_at=ticket.created_at, priority=priority, paused_seconds=ticket.paused_seconds
    )
    ticket.save(update_fields=["priority", "first_response_due_at", "resolution_due_at", "updated_at"])
    _event(
        ticket=ticket,
        actor=user,
        field=TicketEvent.Field.PRIORITY,
        from_value=Priority(old).label,
        to_value=Priority(priority).label,
        at=timezone.now(),
    )
    crm_changed_on_commit(contact_ids=[ticket.contact_id], fact="ticket")
    return ticket


@transaction.atomic
def ticket_assign(*, user, ticket: Ticket, assignee) -> Ticket:
    """Assign to an agent (or unassign with None); a new ticket that gets an owner becomes open."""
    if assignee is not None and not assignee.has_perm("tickets.change_ticket"):
        raise ValidationError({"assignee": f"{_display_user(assignee)} is not a support agent."})
    ticket = _locked(ticket)
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    old = _display_user(ticket.assignee)
    now = timezone.now()
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    _event(
        ticket=ticket,
        actor=user,
        field=TicketEvent.Field.ASSIGNEE,
        from_value=old or "Unassigned",
        to_value=_display_user(assignee) or "Unassigned",
        at=now,
    )
    if assignee is not None and ticket.status == Status.NEW:
        _status_apply(ticket=ticket, user=user, status=Status.OPEN, now=now)
    return ticket


@transaction.atomic
def ticket_team_change(*, user, ticket: Ticket, team: Team | None) -> Ticket:
    ticket = _locked(ticket)
    if ticket.team_id == (team.pk if team else None):
        return ticket
    old = ticket.team.name if ticket.team_id else "No team"
    ticket.team = team
    ticket.save(update_fields=["team", "updated_at"])
    _event(
        ticket=ticket,
        actor=user,
        field=TicketEvent.Field.TEAM,
        from_value=old,
        to_value=team.name if team else "No team",
        at=timezone.now(),
    )
    return ticket


@transaction.atomic
def ticket_tags_set(*, user, ticket: Ticket, tags: Iterable[Tag | str]) -> Ticket:
    ticket.tags.set(tag_list_resolve(tags=tags))
    return ticket


@transaction.atomic
def ticket_satisfaction_set(*, user, ticket: Ticket, rating: int, comment: str = "") -> Ticket:
    if not 1 <= rating <= 5:
        raise ValidationError({"satisfaction_rating": "Rate from 1 to 5."})
    ticket = _locked(ticket)
    if ticket.status not in DONE_STATUSES:
        raise ValidationError({"satisfaction_rating": "Only solved tickets are rated."})
    old = str(ticket.satisfaction_rating or "")
    ticket.satisfaction_rating = rating
    ticket.satisfaction_comment = comment.strip()
    ticket.save(update_fields=["satisfaction_rating", "satisfaction_comment", "updated_at"])
    _event(
        ticket=ticket,
        actor=user,
        field=TicketEvent.Field.SATISFACTION,
        from_value=old,
        to_value=str(rating),
        at=timezone.now(),
    )
    return ticket


@transaction.atomic
def ticket_bulk_update(*, user, ticket_ids: Iterable[int], status=UNCHANGED, assignee=UNCHANGED) -> int:
    """Apply a status and/or assignee to many tickets, each change recorded; all or nothing."""
    tickets = list(Ticket.objects.filter(pk__in=list(ticket_ids)).order_by("pk"))
    for ticket in tickets:
        if assignee is not UNCHANGED:
            ticket = ticket_assign(user=user, ticket=ticket, assignee=assignee)
        if status is not UNCHANGED:
            ticket_status_change(user=user, ticket=ticket, status=status)
    return len(tickets)
