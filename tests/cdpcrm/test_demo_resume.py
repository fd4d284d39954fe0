"""`manage.py demo` completes whatever part of its data is there: deleted demo rows come back, nothing doubles."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Count

from contacts.demo import MARKER_DOMAIN
from contacts.mail.models import EmailTemplate, Mailbox
from contacts.models import Activity, Company, Contact, LoyaltyAccount, Task
from pipeline.models import Deal
from profiles.models import Event, Source
from segments.journeys.models import Journey
from segments.models import Destination, Segment
from segments.services import segment_delete
from segments.webhooks.models import Endpoint
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

TOP_LEVEL = (
    Company,
    Contact,
    Deal,
    Ticket,
    Mailbox,
    EmailTemplate,
    Source,
    Segment,
    Destination,
    Journey,
    Endpoint,
)
EVERYTHING = (*TOP_LEVEL, Activity, Task, LoyaltyAccount, Event)


def _demo() -> str:
    out = io.StringIO()
    call_command("demo", contacts=150, companies=30, stdout=out)
    return out.getvalue()


def _counts(models) -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in models}


def _names() -> dict[str, set]:
    return {
        "segments": set(Segment.objects.values_list("name", flat=True)),
        "journeys": set(Journey.objects.values_list("name", flat=True)),
        "endpoints": set(Endpoint.objects.values_list("name", flat=True)),
        "mailboxes": set(Mailbox.objects.values_list("name", flat=True)),
        "sources": set(Source.objects.values_list("name", flat=True)),
        "domains": set(Company.objects.values_list("domain", flat=True)),
        "emails": set(Contact.objects.values_list("email", flat=True)),
    }


def test_demo_after_deleting_demo_rows_recreates_them_and_a_rerun_adds_nothing():
    _demo()
    loaded, names = _counts(TOP_LEVEL), _names()
    assert loaded["Segment"] == 4 and loaded["Journey"] == 2 and loaded["Deal"] > 0

    for segment in Segment.objects.filter(name__in=sorted(names["segments"])[:2]):
        segment_delete(segment=segment)
    Journey.objects.filter(name="VIP ticket").delete()
    Endpoint.objects.filter(name="Data warehouse (demo)").delete()
    Mailbox.objects.filter(name="Returns inbox (demo)").delete()
    EmailTemplate.objects.filter(name="Quote for a deal").delete()
    Company.objects.filter(domain=MARKER_DOMAIN).delete()  # the old marker: its loss made a rerun fail
    Deal.objects.filter(pk__in=Deal.objects.order_by("pk").values("pk")[:3]).delete()
    Ticket.objects.filter(pk=Ticket.objects.order_by("pk").values("pk")[:1]).delete()
    quiet = (
        Contact.objects.annotate(n=Count("tickets") + Count("deals"))
        .filter(n=0)
        .order_by("-pk")
        .values_list("pk", flat=True)[:5]
    )
    Contact.objects.filter(pk__in=list(quiet)).delete()
    assert _counts(TOP_LEVEL) != loaded

    out = _demo()
    assert "Demo data ready" in out
    assert _counts(TOP_LEVEL) == loaded
    assert _names() == names
    again = _counts(EVERYTHING)

    out = _demo()
    assert _counts(EVERYTHING) == again, "a second run creates nothing"
    assert "contacts: demo data already present" in out and "pipeline: demo deals already loaded" in out
    assert "mail: demo data already present" in out
