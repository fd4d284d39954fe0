"""The one place that decides whether a profile may be contacted for a purpose (journey actions, destinations).

Every journey action that reaches a person and every audience sync asks `contact_refusals` first; a refusal
is recorded on the step or the delivery as "skipped" with the reason returned here. Consent purposes
(issue 15) plug in here and nowhere else. Today a profile merged into another one is refused (its survivor
is the one to contact); everything else is allowed.
"""

from collections.abc import Iterable

from profiles.models import Profile

PURPOSES = ("email", "tasks", "crm", "webhook", "advertising", "journeys")


def contact_refusals(*, profile_ids: Iterable[int], purpose: str) -> dict[int, str]:
    """profile id -> why it may not be contacted for `purpose`; profiles not in the result may be."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    ids = sorted(set(profile_ids))
    if not ids:
        return {}
    merged = Profile.objects.filter(pk__in=ids, merged_into__isnull=False).values_list("pk", flat=True)
    return {pid: "The profile was merged into another profile." for pid in merged}
