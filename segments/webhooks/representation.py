"""Payload data of each topic: the REST API's representation of the object (the same serializers)."""

from contacts.api import ActivitySerializer, CompanySerializer, ContactSerializer, LoyaltyAccountSerializer
from contacts.models import Activity, Company, Contact, LoyaltyAccount
from pipeline.api import DealSerializer
from pipeline.models import Deal
from tickets.api import TicketSerializer
from tickets.models import Ticket

SERIALIZERS = {
    Contact: ("contact", ContactSerializer),
    Company: ("company", CompanySerializer),
    Deal: ("deal", DealSerializer),
    Ticket: ("ticket", TicketSerializer),
    Activity: ("activity", ActivitySerializer),
    LoyaltyAccount: ("loyalty_account", LoyaltyAccountSerializer),
}


def object_representation(instance) -> tuple[str, dict] | None:
    """(object key, REST representation) of a CRM row, or None for rows without an API."""
    entry = SERIALIZERS.get(type(instance))
    if entry is None:
        return None
    name, serializer = entry
    return f"{name}:{instance.pk}", dict(serializer(instance).data)
