"""The one place that maps a CDP profile to its CRM contact.

Today (before issue 6) a profile is linked to the Contact whose lower-cased email equals one of the
profile's Identity(kind="email") values; with several matches the lowest contact id wins. Issue 6 adds a
direct contact link on Profile and will replace the bodies of these two functions with that field.
"""

from collections.abc import Iterable

from django.db.models import OuterRef, Subquery
from django.db.models.functions import Lower

from contacts.models import Contact
from profiles.models import Identity


def contact_for_profile_expr(profile_ref: str = "pk") -> Subquery:
    """A subquery giving the linked contact id of the profile at OuterRef(profile_ref), or NULL."""
    contact_ids = (
        Contact.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower=OuterRef("value"))
        .order_by("pk")
        .values("pk")[:1]
    )
    return Subquery(
        Identity.objects.filter(profile=OuterRef(profile_ref), kind=Identity.Kind.EMAIL)
        .annotate(contact_id=Subquery(contact_ids))
        .filter(contact_id__isnull=False)
        .order_by("contact_id")
        .values("contact_id")[:1]
    )


def profile_ids_for_contacts(*, contact_ids: Iterable[int]) -> set[int]:
    """Profiles linked (or possibly linked) to these contacts, for re-checking after a CRM change."""
    emails = [
        email.lower()
        for email in Contact.objects.filter(pk__in=list(contact_ids))
        .exclude(email="")
        .values_list("email", flat=True)
    ]
    if not emails:
        return set()
    return set(
        Identity.objects.filter(kind=Identity.Kind.EMAIL, value__in=emails).values_list(
            "profile_id", flat=True
        )
    )


def contacts_for_profiles(*, profile_ids: Iterable[int]) -> dict[int, Contact]:
    """profile id -> linked Contact (with owner), in two queries."""
    from profiles.models import Profile

    rows = dict(
        Profile.objects.filter(pk__in=list(profile_ids))
        .annotate(linked_contact_id=contact_for_profile_expr())
        .filter(linked_contact_id__isnull=False)
        .values_list("pk", "linked_contact_id")
    )
    contacts = Contact.objects.select_related("owner").in_bulk(set(rows.values()))
    return {pid: contacts[cid] for pid, cid in rows.items() if cid in contacts}
