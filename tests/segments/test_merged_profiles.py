"""A profile merged into another keeps its row and traits, but segments see the survivor only: membership
(full recompute on both databases and the incremental re-check), preview, members, export, activation."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from profiles.ingest.drain import batch_process
from profiles.ingest.inbox import batch_accept, request_info_now
from profiles.models import Identity, Profile
from segments import services
from segments.models import Delivery, Destination, Membership, Segment
from tests.profiles.factories import make_source

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RULE = {"trait": "plan", "op": "eq", "value": "gold"}
_seq = iter(range(1, 10**9))


def _send(source, *items) -> None:
    batch_items = [
        {
            "messageId": f"merge-{next(_seq)}",
            "timestamp": (T0 + timedelta(minutes=next(_seq))).isoformat(),
            **i,
        }
        for i in items
    ]
    batch = batch_accept(
        source=source,
        kind="batch",
        body=json.dumps({"batch": batch_items}),
        event_count=len(batch_items),
        info=request_info_now(client_ip=None, user_agent="", browser_source=False),
    )
    batch_process(batch_id=batch.pk)


def _profile(kind: str, value: str) -> Profile:
    return Identity.objects.get(kind=kind, value=value).profile


@pytest.fixture
def two_gold_profiles():
    """Two gold profiles (u1 on one device, an anonymous second device) and a segment holding both."""
    source = make_source()[0]
    _send(source, {"type": "identify", "anonymousId": "d1", "userId": "u1", "traits": {"plan": "gold"}})
    _send(source, {"type": "identify", "anonymousId": "d2", "traits": {"plan": "gold"}})
    survivor, second = _profile("anonymous_id", "d1"), _profile("anonymous_id", "d2")
    segment = Segment.objects.create(name="Gold", rule=RULE)
    Destination.objects.create(
        segment=segment, name="Hook", kind="webhook", url="https://hooks.example/x", on_exit=True
    )
    services.segment_recompute(segment_id=segment.pk)
    assert set(_open_members(segment)) == {survivor.pk, second.pk}
    return source, segment, survivor, second


def _open_members(segment: Segment) -> list[int]:
    return list(
        Membership.objects.filter(segment=segment, exited_at__isnull=True).values_list(
            "profile_id", flat=True
        )
    )


def _merge(source) -> None:
    """The second device identifies as u1: its profile is merged into the older one (and keeps its row)."""
    _send(source, {"type": "identify", "anonymousId": "d2", "userId": "u1"})


def test_full_recompute_drops_a_profile_merged_away(two_gold_profiles):
    source, segment, survivor, second = two_gold_profiles
    _merge(source)  # on-commit callbacks do not run here: only the full recompute sees the merge
    second.refresh_from_db()
    assert second.merged_into_id == survivor.pk and second.traits.get("plan") == "gold"

    services.segment_recompute(segment_id=segment.pk)

    assert _open_members(segment) == [survivor.pk]
    segment.refresh_from_db()
    assert segment.member_count == 1
    assert Delivery.objects.filter(trigger="exit").values_list("profile_id", flat=True).get() == second.pk


def test_the_merge_itself_takes_the_merged_profile_out_of_its_segments(
    two_gold_profiles, django_capture_on_commit_callbacks
):
    source, segment, survivor, second = two_gold_profiles
    with django_capture_on_commit_callbacks(execute=True):
        _merge(source)
    assert _open_members(segment) == [survivor.pk]
    segment.refresh_from_db()
    assert segment.member_count == 1


def test_preview_members_and_export_count_the_survivor_only(two_gold_profiles, marketing_api):
    source, segment, survivor, second = two_gold_profiles
    _merge(source)
    preview = marketing_api.post(f"/api/segments/{segment.pk}/preview/", {"rule": RULE}, format="json").json()
    assert preview["count"] == 1 and [p["id"] for p in preview["sample"]] == [survivor.pk]
    members = marketing_api.get(f"/api/segments/{segment.pk}/members/").json()
    assert [m["profile_id"] for m in members["results"]] == [survivor.pk]
    export = marketing_api.get(f"/api/segments/{segment.pk}/export/?traits=plan")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [int(r["profile_id"]) for r in rows] == [survivor.pk]


def test_a_segment_created_after_the_merge_counts_one_person(two_gold_profiles):
    source, _segment, survivor, _second = two_gold_profiles
    _merge(source)
    later = Segment.objects.create(name="Gold again", rule=RULE)
    services.segment_recompute(segment_id=later.pk)
    assert _open_members(later) == [survivor.pk]
