"""The one place that decides whether a profile may be contacted for a purpose (journey actions, destinations).

Every journey action that reaches a person and every audience sync asks `contact_refusals` first; a refusal
is recorded on the step or the delivery as "skipped" with the reason returned here. Consent purposes
(issue 15) plug in here and nowhere else. Today: a profile merged into another one is refused (its survivor
is the one to contact); for "email", a profile is refused with "unsubscribed" when its contact's address or
any e-mail address the CDP knows for it is on the unsubscribe list (contacts.mail: the link and one-click
header of journey e-mails, or staff); everything else is allowed.
"""

from collections import defaultdict
from collections.abc import Iterable

from contacts.mail.unsubscribe import addresses_unsubscribed
from profiles.models import Identity, Profile
from profiles.unify.contact import contacts_for_profiles

PURPOSES = ("email", "tasks", "crm", "webhook", "advertising", "journeys")
UNSUBSCRIBED = "unsubscribed"


def contact_refusals(*, profile_ids: Iterable[int], purpose: str) -> dict[int, str]:
    """profile id -> why it may not be contacted for `purpose`; profiles not in the result may be."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    ids = sorted(set(profile_ids))
    if not ids:
        return {}
    merged = Profile.objects.filter(pk__in=ids, merged_into__isnull=False).values_list("pk", flat=True)
    refusals = {pid: "The profile was merged into another profile." for pid in merged}
    if purpose == "email":
        refusals.update({pid: UNSUBSCRIBED for pid in _unsubscribed([p for p in ids if p not in refusals])})
    return refusals


def _unsubscribed(profile_ids: list[int]) -> set[int]:
    """Profiles with an unsubscribed address: their contact's e-mail or an e-mail identity (four queries)."""
    if not profile_ids:
        return set()
    addresses: dict[int, set[str]] = defaultdict(set)
    for profile_id, contact in contacts_for_profiles(profile_ids=profile_ids).items():
        if contact.email:
            addresses[profile_id].add(contact.email.lower())
    for profile_id, value in Identity.objects.filter(
        profile_id__in=profile_ids, kind=Identity.Kind.EMAIL
    ).values_list("profile_id", "value"):
        addresses[profile_id].add(value.lower())
    out = addresses_unsubscribed({a for found in addresses.values() for a in found})
    return {pid for pid, found in addresses.items() if found & out}
