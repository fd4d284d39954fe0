"""Where changes come from: CRM services (recorded in their transaction), segment moves, journeys, merges."""

from django.utils import timezone


def on_crm_change(change) -> None:
    from .services import events_record, subscribed_topics

    if change.topic not in subscribed_topics():
        return
    from .representation import object_representation

    represented = object_representation(change.instance)
    if represented is None:
        return
    key, data = represented
    if change.topic.endswith(".deleted"):
        data = {**data, "deleted": True}
    if change.data.get("fields"):
        data = {**data, "changes": change.data["fields"]}
    events_record(topic=change.topic, items=[(key, data)])


def on_segment_moves(*, segment, enter_ids, exit_ids, now) -> None:
    from .services import events_record, subscribed_topics

    topics = subscribed_topics()
    for topic, ids in (("segment.entered", enter_ids), ("segment.exited", exit_ids)):
        if ids and topic in topics:
            events_record(
                topic=topic,
                items=[
                    (
                        f"segment:{segment.pk}:profile:{pid}",
                        {
                            "segment": {"id": segment.pk, "name": segment.name},
                            "profile": {"id": pid},
                            "at": now.isoformat(),
                        },
                    )
                    for pid in ids
                ],
                now=now,
            )


def allowed_hosts() -> list[str]:
    from .models import AllowedHost

    return list(AllowedHost.objects.values_list("host", flat=True))


def connect() -> None:
    from common.outbound import allowed_hosts_provider_register
    from contacts.signals import crm_change_recorder_register

    from ..hooks import segment_moves_register

    crm_change_recorder_register(on_crm_change)
    segment_moves_register(on_segment_moves)
    allowed_hosts_provider_register(allowed_hosts)


def merges_poll(*, limit: int = 1000) -> int:
    """profile.merged / profile.unmerged from the merge ledger (written in the merge's transaction): rows are
    read again from a little before the watermark, so one committed late is still picked up once."""
    from profiles.models import ProfileMerge

    from .models import Watermark
    from .services import events_record_polled, subscribed_topics

    topics = subscribed_topics() & {"profile.merged", "profile.unmerged"}
    mark, _ = Watermark.objects.get_or_create(name="profile_merges")
    rows = list(
        ProfileMerge.objects.filter(pk__gt=max(mark.value - 200, 0), kind__in=["merge", "unmerge"]).order_by(
            "pk"
        )[:limit]
    )
    if not rows:
        return 0
    recorded = 0
    now = timezone.now()
    for kind, topic in (("merge", "profile.merged"), ("unmerge", "profile.unmerged")):
        if topic not in topics:
            continue
        items = [
            (
                f"profile:{row.merged_id}",
                {
                    "merge_id": row.pk,
                    "survivor": {"id": row.survivor_id},
                    "merged": {"id": row.merged_id},
                    "rule": row.rule,
                    "identifier": row.identifier,
                    "at": row.created_at.isoformat(),
                },
                f"profile_merge:{row.pk}",
            )
            for row in rows
            if row.kind == kind
        ]
        recorded += events_record_polled(topic=topic, items=items, now=now)
    Watermark.objects.filter(name="profile_merges").update(value=max(mark.value, rows[-1].pk))
    return recorded
