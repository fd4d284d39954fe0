"""Listeners on lower apps: a Contact created or given an e-mail links the CDP profile holding that e-mail."""

from django.db import transaction

from .signals import profiles_changed
from .tracking import cache as tracking_cache
from .unify.contact import contact_link_profile


def contact_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    if update_fields is not None and "email" not in update_fields:
        return
    if not instance.email:
        return
    profile_id = contact_link_profile(contact_id=instance.pk, email=instance.email)
    if profile_id is not None:
        transaction.on_commit(
            lambda: profiles_changed.send(
                sender=type(instance), profile_ids=[profile_id], merged_profile_ids=[]
            )
        )


def sources_changed(sender, **kwargs) -> None:
    """A source was saved or deleted: every web process re-reads sources on its next tracking request."""
    tracking_cache.sources_changed()
