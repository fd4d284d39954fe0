"""Hooks journeys registers into lower apps and into segments; listeners only enqueue, recorders write."""


def on_profiles_changed(sender, profile_ids, events_since=None, **kwargs) -> None:
    from .services import live_journeys
    from .tasks import journeys_events_task

    ids = sorted({int(pid) for pid in profile_ids})
    if ids and live_journeys():
        journeys_events_task.delay(ids, events_since.isoformat() if events_since else None)


def on_crm_changed(sender, contact_ids, fact, **kwargs) -> None:
    from .services import live_journeys
    from .tasks import journeys_crm_task

    ids = sorted({int(cid) for cid in contact_ids})
    if ids and any(j["goal_or_exit"] for j in live_journeys()):
        journeys_crm_task.delay(ids)


def on_segment_moves(*, segment, enter_ids, exit_ids, now) -> None:
    from .services import live_journeys
    from .triggers import segment_moved

    if live_journeys():
        segment_moved(segment_id=segment.pk, enter_ids=enter_ids, exit_ids=exit_ids, now=now)


def on_crm_change(change) -> None:
    from .triggers import crm_change_recorded

    crm_change_recorded(change)


def connect() -> None:
    from contacts.mail.registry import users_register
    from contacts.signals import crm_change_recorder_register, crm_changed
    from profiles.signals import profiles_changed
    from profiles.unify.timeline import timeline_provider_register

    from ..hooks import segment_moves_register, segment_users_register
    from .selectors import journeys_sending_with, journeys_using_segments
    from .timeline import JourneyTimeline

    profiles_changed.connect(on_profiles_changed, dispatch_uid="journeys_profiles_changed")
    crm_changed.connect(on_crm_changed, dispatch_uid="journeys_crm_changed")
    crm_change_recorder_register(on_crm_change)
    segment_moves_register(on_segment_moves)
    segment_users_register(journeys_using_segments)
    users_register(journeys_sending_with)
    timeline_provider_register(JourneyTimeline())
