"""Unmerge: split a merged profile back out by its ledger entry."""

from django.db import transaction
from django.utils import timezone

from ..models import Event, Identity, Profile, ProfileMerge
from ..signals import profiles_changed
from .computed import computed_refresh
from .identity import EMAIL, profile_live, row_identifiers
from .traits import profile_traits_rebuild


def profile_unmerge(*, merge: ProfileMerge, user=None) -> ProfileMerge:
    """Split a merged profile back out by its ledger entry, as a new ledger entry of its own.

    The identities the merged profile brought move back; the survivor's events are re-resolved: those
    whose identifiers now all belong to the split-out profile move with it (the event that tied the two
    profiles keeps its place with the survivor). Then each side's traits, seen times and computed traits
    are set again from its own events, so neither keeps what the other person's events said.
    """
    if merge.kind != ProfileMerge.Kind.MERGE or merge.undone_by_id:
        raise ValueError("only a merge that is not undone yet can be unmerged")
    with transaction.atomic():
        merged = Profile.objects.select_for_update().get(pk=merge.merged_id)
        if merged.merged_into_id is None:
            raise ValueError("this profile is not merged any more")
        survivor = profile_live(profile=merged)
        Profile.objects.select_for_update().filter(pk__in=[survivor.pk, merged.pk]).order_by("pk").exists()
        pairs = {(kind, value) for kind, value in merge.identities}
        moving = [
            identity
            for identity in Identity.objects.filter(profile=survivor)
            if (identity.kind, identity.value) in pairs
        ]
        moving_keys = {(i.kind, i.value) for i in moving}
        staying = set(Identity.objects.filter(profile=survivor).values_list("kind", "value")) - moving_keys
        Identity.objects.filter(pk__in=[i.pk for i in moving]).update(profile=merged)
        back = [
            event.pk
            for event in Event.objects.filter(profile=survivor).only(
                "id",
                "message_id",
                "type",
                "timestamp",
                "received_at",
                "user_id",
                "anonymous_id",
                "previous_id",
                "traits",
                "context",
            )
            if (ids := row_identifiers(event)) & moving_keys and not ids & staying
        ]
        Event.objects.filter(pk__in=back).update(profile=merged)
        moved_emails = {value for kind, value in moving_keys if kind == EMAIL}
        contact_id = None
        if (
            survivor.contact_id
            and survivor.contact
            and survivor.contact.email.strip().lower() in moved_emails
        ):
            contact_id = survivor.contact_id
            Profile.objects.filter(pk=survivor.pk).update(contact=None)
        Profile.objects.filter(pk=merged.pk).update(
            merged_into=None, merged_at=None, **({"contact_id": contact_id} if contact_id else {})
        )
        undo = ProfileMerge.objects.create(
            kind=ProfileMerge.Kind.UNMERGE,
            survivor=survivor,
            merged=merged,
            rule="unmerge",
            identifier=merge.identifier,
            reason=f"undoes merge #{merge.pk}; {len(back)} events moved back",
            identities=sorted([list(pair) for pair in moving_keys]),
            created_by=user,
            created_at=timezone.now(),
        )
        merge.undone_by = undo
        merge.save(update_fields=["undone_by"])
        for side in Profile.objects.filter(pk__in=[survivor.pk, merged.pk]).order_by("pk"):
            profile_traits_rebuild(profile=side)
        computed_refresh(profile_ids=[survivor.pk, merged.pk])
        ids = sorted([survivor.pk, merged.pk])
        transaction.on_commit(
            lambda: profiles_changed.send(sender=Profile, profile_ids=ids, merged_profile_ids=[])
        )
    return undo
