"""Factories for ticket tests: contacts and teams, and tickets made through the real service."""

import datetime

import factory
from django.utils import timezone

from contacts.models import Contact
from tickets import services
from tickets.models import Team, Ticket
from tickets.sla import sla_due_times


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


def ticket_make(
    *, user=None, contact=None, subject="Order never arrived", body="Where is my parcel?", **kwargs
) -> Ticket:
    """A ticket opened through services.ticket_create, as the UI and the API do."""
    return services.ticket_create(
        user=user, contact=contact or ContactFactory(), subject=subject, body=body, **kwargs
    )


def tickets_bulk(*, count: int, contact: Contact, priority: str = "normal", **fields) -> list[Ticket]:
    """Many tickets at once (for query-count tests), with SLA due times as the service computes them."""
    now = timezone.now()
    first_due_now, resolution_due_now = sla_due_times(created_at=now, priority=priority)
    rows = []
    for i in range(count):
        shift = datetime.timedelta(minutes=i)
        created, first_due, resolution_due = now - shift, first_due_now - shift, resolution_due_now - shift
        rows.append(
            Ticket(
                subject=f"Bulk ticket {i}",
                contact=contact,
                company_id=contact.company_id,
                priority=priority,
                created_at=created,
                first_response_due_at=first_due,
                resolution_due_at=resolution_due,
                **fields,
            )
        )
    return Ticket.objects.bulk_create(rows)
