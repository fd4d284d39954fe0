"""Listeners for changes announced by lower apps: they only enqueue the re-check (segments queue)."""

from .tasks import segment_crm_changed_task, segment_profiles_changed_task


def on_profiles_changed(sender, profile_ids, merged_profile_ids=(), **kwargs) -> None:
    # Profiles merged away are re-checked too: they no longer match anything, so they leave their segments.
    ids = sorted({int(pid) for pid in (*profile_ids, *merged_profile_ids)})
    if ids:
        segment_profiles_changed_task.delay(ids, ["events", "traits"])


def on_crm_changed(sender, contact_ids, fact, **kwargs) -> None:
    ids = sorted({int(cid) for cid in contact_ids})
    if ids:
        segment_crm_changed_task.delay(ids, fact)
