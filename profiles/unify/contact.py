"""The profile -> contact link: a profile is linked to the Contact with its e-mail, and a new Contact to its profile.

The profile -> contact rule is `Profile.contact` (one-to-one), set here and nowhere else: when a profile's
e-mail trait matches a Contact's e-mail (case-insensitive) that no other profile holds, and when a Contact
is created or given an e-mail that a profile holds as an identity. Pages, segments, journeys and
activations read the link through the functions at the end of this module, never by e-mail.
"""

from collections.abc import Iterable

from django.db.models import F
from django.db.models.functions import Lower

from contacts.models import Contact

from ..models import Identity, Profile


def _profile_email(profile: Profile) -> str:
    email = profile.traits.get("email")
    return email.strip().lower() if isinstance(email, str) and "@" in email else ""


def contacts_link(profiles: list[Profile]) -> None:
    """Link profiles without a contact to the Contact with their e-mail (two queries)."""
    unlinked = {email: p for p in profiles if not p.contact_id and (email := _profile_email(p))}
    if not unlinked:
        return
    found = dict(
        Contact.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=sorted(unlinked))
        .values_list("email_lower", "pk")
    )
    taken = set(
        Profile.objects.filter(contact_id__in=list(found.values())).values_list("contact_id", flat=True)
    )
    for email, contact_id in found.items():
        if contact_id not in taken:
            unlinked[email].contact_id = contact_id


def contact_link_profile(*, contact_id: int, email: str) -> int | None:
    """After a Contact is created or its e-mail edited: link the live profile holding that e-mail."""
    email = (email or "").strip().lower()
    if not email:
        return None
    profile_id = (
        Identity.objects.filter(kind=Identity.Kind.EMAIL, value=email)
        .values_list("profile_id", flat=True)
        .first()
    )
    if profile_id is None:
        return None
    if Profile.objects.filter(contact_id=contact_id).exclude(pk=profile_id).exists():
        # The contact's former e-mail belonged to another profile: the new e-mail's profile takes over.
        Profile.objects.filter(contact_id=contact_id).exclude(pk=profile_id).update(contact=None)
    updated = Profile.objects.filter(pk=profile_id, contact__isnull=True).update(contact_id=contact_id)
    return profile_id if updated else None


def contact_id_expr() -> F:
    """An expression over Profile rows: the id of the profile's contact, or NULL (segments' CRM leaves)."""
    return F("contact_id")


def profile_ids_for_contacts(*, contact_ids: Iterable[int]) -> set[int]:
    """The profiles linked to these contacts, for re-checking after a CRM change."""
    return set(Profile.objects.filter(contact_id__in=list(contact_ids)).values_list("pk", flat=True))


def contacts_for_profiles(*, profile_ids: Iterable[int]) -> dict[int, Contact]:
    """profile id -> linked Contact (with owner), in two queries."""
    rows = dict(
        Profile.objects.filter(pk__in=list(profile_ids), contact__isnull=False).values_list(
            "pk", "contact_id"
        )
    )
    contacts = Contact.objects.select_related("owner").in_bulk(set(rows.values()))
    return {pid: contacts[cid] for pid, cid in rows.items() if cid in contacts}
