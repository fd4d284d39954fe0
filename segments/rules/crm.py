"""The one place that maps a CDP profile to its CRM contact.

A profile's contact is its direct link `Profile.contact` (issue 6, being built) when set, else the Contact
whose lower-cased email equals one of the profile's Identity(kind="email") values (lowest contact id wins).
Once issue 6 links every profile directly, the identity fallback below can be dropped.
"""

from collections.abc import Iterable

from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce, Lower

from contacts.models import Contact
from profiles.models import Identity, Profile


def _contact_by_email_identity() -> Subquery:
    contact_ids = (
        Contact.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower=OuterRef("value"))
        .order_by("pk")
        .values("pk")[:1]
    )
    return Subquery(
        Identity.objects.filter(profile=OuterRef("pk"), kind=Identity.Kind.EMAIL)
        .annotate(matched_contact_id=Subquery(contact_ids))
        .filter(matched_contact_id__isnull=False)
        .order_by("matched_contact_id")
        .values("matched_contact_id")[:1]
    )


def contact_for_profile_expr():
    """An expression over Profile rows: the linked contact id, or NULL."""
    return Coalesce(F("contact_id"), _contact_by_email_identity())


def profile_ids_for_contacts(*, contact_ids: Iterable[int]) -> set[int]:
    """Profiles linked (or possibly linked) to these contacts, for re-checking after a CRM change."""
    ids = list(contact_ids)
    linked = set(Profile.objects.filter(contact_id__in=ids).values_list("pk", flat=True))
    emails = [
        email.lower()
        for email in Contact.objects.filter(pk__in=ids).exclude(email="").values_list("email", flat=True)
    ]
    if emails:
        linked |= set(
            Identity.objects.filter(kind=Identity.Kind.EMAIL, value__in=emails).values_list(
                "profile_id", flat=True
            )
        )
    return linked


def contacts_for_profiles(*, profile_ids: Iterable[int]) -> dict[int, Contact]:
    """profile id -> linked Contact (with owner), in two queries."""
    rows = dict(
        Profile.objects.filter(pk__in=list(profile_ids))
        .annotate(linked_contact_id=contact_for_profile_expr())
        .filter(linked_contact_id__isnull=False)
        .values_list("pk", "linked_contact_id")
    )
    contacts = Contact.objects.select_related("owner").in_bulk(set(rows.values()))
    return {pid: contacts[cid] for pid, cid in rows.items() if cid in contacts}
