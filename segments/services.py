"""Writes of segments: saving rules, evaluating membership (full and incremental), window expiry, activation.

Evaluation of one segment runs in one transaction holding a lock on the segment row, so two evaluations
of the same segment never interleave; deliveries are created in that transaction and sent after commit.
"""

import datetime
import logging
import math
from collections import defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from profiles.models import Identity, Profile

from . import sql
from .hooks import segment_moves_notify, segment_users
from .models import Delivery, Destination, Membership, Segment, SegmentSize, WindowExpiry
from .rules import leaves, rule_compile, rule_validate, segment_refs, window_delta
from .rules.compiler import event_queryset
from .rules.spec import CRM_FIELDS
from .selectors import segments_using

logger = logging.getLogger(__name__)

CHUNK = 2000
# Window expiries are written as WindowExpiry rows this far ahead; a half-hourly planner writes the next
# horizon, and a beat task every WINDOW_BUCKET_SECONDS re-checks the due ones.
WINDOW_HORIZON = datetime.timedelta(hours=1)
WINDOW_BUCKET_SECONDS = 5
WINDOW_CLAIM = 5000  # due expiry rows claimed per round


# --- saving -----------------------------------------------------------------------------------------


def _segment_rule_lookup(segment_id: int) -> dict | None:
    return Segment.objects.filter(pk=segment_id).values_list("rule", flat=True).first()


@transaction.atomic
def segment_save(
    *,
    user,
    name: str,
    rule: dict,
    segment: Segment | None = None,
    description: str = "",
    is_active: bool = True,
) -> Segment:
    """Create or update a segment after validating its rule; membership is recomputed after the commit."""
    segment = segment or Segment(created_by=user if user is not None and user.is_authenticated else None)
    rule_validate(rule=rule, segment_id=segment.pk, segment_lookup=_segment_rule_lookup)
    segment.name = name.strip()
    segment.description = description.strip()
    segment.rule = rule
    segment.is_active = is_active
    segment.full_clean(exclude=["rule"])
    segment.save()
    segment_id = segment.pk

    from .tasks import segment_recompute_task

    transaction.on_commit(lambda: segment_recompute_task.delay(segment_id))
    return segment


# --- evaluation --------------------------------------------------------------------------------------


def _locked(segment_id: int) -> Segment | None:
    return Segment.objects.select_for_update().filter(pk=segment_id, is_active=True).first()


class SegmentInUse(Exception):
    """A segment that other segments' rules or journeys use cannot be deleted: they would silently match
    nobody (a journey's trigger would never fire, its branches and goals would change meaning)."""

    def __init__(self, segment: Segment, users: list[Segment], others: list[str] = ()):
        self.segment, self.users = segment, users
        self.labels = [f"Segment “{user.name}”" for user in users] + list(others)
        parts = []
        if users:
            parts.append("the rule of " + ", ".join(f"“{user.name}”" for user in users))
        if others:
            parts.append(", ".join(others))
        super().__init__(f"“{segment.name}” is used by {' and '.join(parts)}; change those first.")


DELETE_ATTEMPTS = 3


def segment_delete(*, segment: Segment) -> None:
    """Delete a segment and its memberships, unless another segment's rule or a journey uses it.

    The delete first takes the segment row lock every evaluation holds, so it waits for a running one (its
    first evaluation starts right after the create) to commit, and an evaluation that starts meanwhile
    waits and then finds no segment. The rows it deletes with the segment are collected only after that,
    so none an evaluation just wrote is left pointing at a deleted segment. A deadlock with a window sweep
    (which holds expiry rows, then waits for the segment) is retried."""
    users = segments_using([segment.pk])[segment.pk]
    others = segment_users({segment.pk})[segment.pk]
    if users or others:
        raise SegmentInUse(segment, users, others)
    for attempt in range(DELETE_ATTEMPTS):
        try:
            with transaction.atomic():
                locked = Segment.objects.select_for_update().filter(pk=segment.pk).first()
                if locked is not None:
                    locked.delete()
            return
        except OperationalError:
            if attempt == DELETE_ATTEMPTS - 1:
                raise
            logger.info("segment %s: delete met a concurrent evaluation, retrying", segment.pk)


def segment_recompute(*, segment_id: int, now: datetime.datetime | None = None) -> tuple[int, int]:
    """Full recompute: enter = matching EXCEPT members, exit = members EXCEPT matching, both in SQL."""
    now = now or timezone.now()
    with transaction.atomic():
        segment = _locked(segment_id)
        if segment is None:
            return 0, 0
        matching = rule_compile(rule=segment.rule, now=now)
        members = Membership.objects.filter(segment=segment, exited_at__isnull=True)
        if connection.vendor == "postgresql":
            enter_ids, exit_ids = sql.memberships_recompute(segment_id=segment.pk, matching=matching, now=now)
            _moves_record(segment=segment, enter_ids=enter_ids, exit_ids=exit_ids, now=now)
        else:
            enter_ids = list(
                matching.filter(~Exists(members.filter(profile=OuterRef("pk")))).values_list("pk", flat=True)
            )
            exit_ids = list(
                members.exclude(profile__in=matching.values("pk")).values_list("profile_id", flat=True)
            )
            _membership_apply(segment=segment, enter_ids=enter_ids, exit_ids=exit_ids, now=now)
        segment.member_count = members.count()
        segment.last_evaluated_at = now
        # A queryset update: evaluation is not an edit, so it leaves no row in the segment's history.
        Segment.objects.filter(pk=segment.pk).update(
            member_count=segment.member_count, last_evaluated_at=now, last_changed_at=segment.last_changed_at
        )
        segment_size_record(segment=segment, now=now)
    _windows_record(segment_id=segment_id, now=now, profile_ids=None)
    return len(enter_ids), len(exit_ids)


def segment_profiles_recheck(
    *, segment_id: int, profile_ids: Iterable[int], now: datetime.datetime | None = None
) -> set[int]:
    """Incremental evaluation of some profiles; returns the ids whose membership changed."""
    now = now or timezone.now()
    ids = sorted(set(profile_ids))
    if not ids:
        return set()
    changed: set[int] = set()
    with transaction.atomic():
        segment = _locked(segment_id)
        if segment is None:
            return set()
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            matching = set(
                rule_compile(
                    rule=segment.rule, now=now, profiles=Profile.objects.filter(pk__in=chunk)
                ).values_list("pk", flat=True)
            )
            current = set(
                Membership.objects.filter(
                    segment=segment, exited_at__isnull=True, profile_id__in=chunk
                ).values_list("profile_id", flat=True)
            )
            enter_ids, exit_ids = sorted(matching - current), sorted(current - matching)
            _membership_apply(segment=segment, enter_ids=enter_ids, exit_ids=exit_ids, now=now)
            changed.update(enter_ids, exit_ids)
        if changed:
            Segment.objects.filter(pk=segment.pk).update(
                member_count=Membership.objects.filter(segment=segment, exited_at__isnull=True).count(),
                last_changed_at=now,
            )
            segment.refresh_from_db(fields=["member_count"])
            segment_size_record(segment=segment, now=now)
    _windows_record(segment_id=segment_id, now=now, profile_ids=ids)
    return changed


def _membership_apply(
    *, segment: Segment, enter_ids: list[int], exit_ids: list[int], now: datetime.datetime
) -> None:
    for start in range(0, len(enter_ids), CHUNK):
        Membership.objects.bulk_create(
            [
                Membership(segment=segment, profile_id=pid, entered_at=now)
                for pid in enter_ids[start : start + CHUNK]
            ]
        )
    for start in range(0, len(exit_ids), CHUNK):
        Membership.objects.filter(
            segment=segment, exited_at__isnull=True, profile_id__in=exit_ids[start : start + CHUNK]
        ).update(exited_at=now)
    _moves_record(segment=segment, enter_ids=enter_ids, exit_ids=exit_ids, now=now)


def _moves_record(
    *, segment: Segment, enter_ids: list[int], exit_ids: list[int], now: datetime.datetime
) -> None:
    """After membership rows changed: the segment's last change and the deliveries of its destinations."""
    if enter_ids or exit_ids:
        segment.last_changed_at = now
        deliveries_create(segment=segment, enter_ids=enter_ids, exit_ids=exit_ids, now=now)
        segment_moves_notify(segment=segment, enter_ids=enter_ids, exit_ids=exit_ids, now=now)


def segment_size_record(*, segment: Segment, now: datetime.datetime) -> None:
    SegmentSize.objects.update_or_create(
        segment=segment, day=timezone.localdate(now), defaults={"size": segment.member_count}
    )


def segments_recompute_all(*, now: datetime.datetime | None = None) -> dict[int, tuple[int, int]]:
    """Recompute every active segment, referenced segments before the segments that use them."""
    return {sid: segment_recompute(segment_id=sid, now=now) for sid in _dependency_order(_active_rules())}


# --- which segments a change can affect ---------------------------------------------------------------


def _active_rules() -> dict[int, dict]:
    return dict(Segment.objects.filter(is_active=True).values_list("pk", "rule"))


def _dependency_order(rules: dict[int, dict]) -> list[int]:
    ordered: list[int] = []
    seen: set[int] = set()

    def visit(sid: int) -> None:
        if sid in seen or sid not in rules:
            return
        seen.add(sid)
        for ref in sorted(segment_refs(rules[sid])):
            visit(ref)
        ordered.append(sid)

    for sid in sorted(rules):
        visit(sid)
    return ordered


def _affected_by(rule: dict, *, facts: set[str]) -> bool:
    """Can a change of these facts ("events", "traits", "contact", a CRM fact) change the result?"""
    for leaf in leaves(rule):
        if "event" in leaf and "events" in facts:
            return True
        if "trait" in leaf and "traits" in facts:
            return True
        if "computed_trait" in leaf and facts & {"events", "traits"}:
            return True  # the pipeline refreshes computed traits of the profiles a batch touches
        if "crm" in leaf and (facts & {"contact", "events", "traits", CRM_FIELDS[leaf["crm"]][4]}):
            # "events"/"traits" can add an email identity, which links the profile to a contact.
            return True
        if "segment" in leaf and f"segment:{leaf['segment']}" in facts:
            return True
    return False


def segments_profiles_recheck(
    *, profile_ids: Iterable[int], facts: set[str], now: datetime.datetime | None = None
) -> dict[int, set[int]]:
    """Re-check some profiles against the segments these facts can affect, cascading to segments that
    refer to a segment whose membership changed. Returns segment id -> changed profile ids."""
    now = now or timezone.now()
    ids = set(profile_ids)
    if not ids:
        return {}
    rules = _active_rules()
    changed_segments: dict[int, set[int]] = {}
    for sid in _dependency_order(rules):
        rule = rules[sid]
        cascade = set().union(*(changed_segments.get(ref, set()) for ref in segment_refs(rule)))
        targets = ids if _affected_by(rule, facts=facts) else cascade
        if targets:
            changed = segment_profiles_recheck(segment_id=sid, profile_ids=targets, now=now)
            if changed:
                changed_segments[sid] = changed
    return changed_segments


# --- time windows ---------------------------------------------------------------------------------


def window_expiries(
    *,
    segment: Segment,
    now: datetime.datetime,
    until: datetime.datetime,
    profile_ids: Iterable[int] | None = None,
) -> dict[datetime.datetime, set[int]]:
    """When (in (now, until]) a windowed event of these profiles leaves its window -> profiles."""
    due: dict[datetime.datetime, set[int]] = defaultdict(set)
    ids = None if profile_ids is None else list(profile_ids)
    for leaf in leaves(segment.rule):
        if "event" not in leaf or not leaf.get("within"):
            continue
        delta = window_delta(leaf["within"])
        events = event_queryset(leaf, now).filter(timestamp__lte=until - delta, profile__isnull=False)
        if ids is not None:
            events = events.filter(profile_id__in=ids)
        for profile_id, timestamp in events.values_list("profile_id", "timestamp").distinct():
            leaves_at = timestamp + delta
            bucket = math.ceil(leaves_at.timestamp() / WINDOW_BUCKET_SECONDS) * WINDOW_BUCKET_SECONDS
            due[datetime.datetime.fromtimestamp(bucket, tz=datetime.UTC)].add(profile_id)
    return dict(due)


def _windows_record(*, segment_id: int, now: datetime.datetime, profile_ids: list[int] | None) -> int:
    """Write the window expiries within the horizon as rows; returns how many moments were recorded."""
    segment = Segment.objects.filter(pk=segment_id, is_active=True).first()
    if segment is None:
        return 0
    expiries = window_expiries(segment=segment, now=now, until=now + WINDOW_HORIZON, profile_ids=profile_ids)
    rows = [
        WindowExpiry(segment_id=segment_id, profile_id=pid, due_at=due_at)
        for due_at, ids in expiries.items()
        for pid in ids
    ]
    try:
        WindowExpiry.objects.bulk_create(rows, batch_size=CHUNK, ignore_conflicts=True)
    except IntegrityError:
        if Segment.objects.filter(pk=segment_id).exists():
            raise
        return 0  # the segment was deleted since it was read: nothing to expire
    return len(expiries)


def segments_windows_plan(*, now: datetime.datetime | None = None) -> int:
    """Periodic (half-hourly): record the window expiries of the next horizon for every active segment."""
    now = now or timezone.now()
    return sum(
        _windows_record(segment_id=sid, now=now, profile_ids=None)
        for sid in _dependency_order(_active_rules())
    )


def _expiries_claim(*, now: datetime.datetime, limit: int) -> list[tuple[int, int, int]]:
    """(id, segment, profile) of due expiry rows, locked so a second sweeper takes other rows."""
    due = WindowExpiry.objects.filter(due_at__lte=now).order_by("due_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True)
    return list(due.values_list("pk", "segment_id", "profile_id")[:limit])


def window_expiries_process(*, now: datetime.datetime | None = None, limit: int = WINDOW_CLAIM) -> int:
    """Periodic (every few seconds): re-check the profiles whose window passed, and the segments using
    those segments. Each round is one transaction that deletes the rows it handled, so a killed worker
    leaves them for the next run and a second run finds nothing to do. Returns the rows handled."""
    now = now or timezone.now()
    handled = 0
    while True:
        with transaction.atomic():
            claimed = _expiries_claim(now=now, limit=limit)
            if not claimed:
                return handled
            by_segment: dict[int, set[int]] = defaultdict(set)
            for _pk, segment_id, profile_id in claimed:
                by_segment[segment_id].add(profile_id)
            rules = _active_rules()
            for segment_id in _dependency_order({sid: rules[sid] for sid in by_segment if sid in rules}):
                changed = segment_profiles_recheck(
                    segment_id=segment_id, profile_ids=by_segment[segment_id], now=now
                )
                if changed:
                    segments_profiles_recheck(profile_ids=changed, facts={f"segment:{segment_id}"}, now=now)
            WindowExpiry.objects.filter(pk__in=[pk for pk, _s, _p in claimed]).delete()
        handled += len(claimed)
        if len(claimed) < limit:
            return handled


# --- activation -----------------------------------------------------------------------------------


def _payloads(
    *, segment: Segment, profile_ids: list[int], trigger: str, traits: set[str], now: datetime.datetime
) -> dict[int, dict]:
    identifiers: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for pid, kind, value in (
        Identity.objects.filter(profile_id__in=profile_ids)
        .order_by("kind", "value")
        .values_list("profile_id", "kind", "value")
    ):
        identifiers[pid][kind].append(value)
    profile_traits = dict(Profile.objects.filter(pk__in=profile_ids).values_list("pk", "traits"))
    return {
        pid: {
            "type": f"segment.{'entered' if trigger == 'enter' else 'exited'}",
            "segment": {"id": segment.pk, "name": segment.name},
            "profile_id": pid,
            "identifiers": {kind: values for kind, values in identifiers[pid].items()},
            "traits": {k: v for k, v in (profile_traits.get(pid) or {}).items() if k in traits},
            "timestamp": now.isoformat(),
        }
        for pid in profile_ids
    }


def _move_sequences(*, segment: Segment, profile_ids: list[int], trigger: str) -> dict[int, int]:
    """Each move of a profile in or out of a segment numbered 1, 2, 3 ... (odd: entered, even: exited),
    from its membership history: the n-th stay is entered by move 2n-1 and left by move 2n. Receivers
    keep the highest number seen per (segment, profile) and ignore older ones (a retried "exited" that
    arrives after a later "entered")."""
    stays = dict(
        Membership.objects.filter(segment=segment, profile_id__in=profile_ids)
        .values("profile_id")
        .annotate(n=Count("id"))
        .values_list("profile_id", "n")
    )
    return {pid: 2 * stays.get(pid, 1) - (1 if trigger == "enter" else 0) for pid in profile_ids}


def deliveries_create(
    *, segment: Segment, enter_ids: list[int], exit_ids: list[int], now: datetime.datetime
) -> list[int]:
    """One Delivery per (destination, profile) listening to these moves; sent after the commit."""
    destinations = list(Destination.objects.filter(segment=segment, enabled=True))
    rows: list[Delivery] = []
    for trigger, ids, wanted in (("enter", enter_ids, "on_enter"), ("exit", exit_ids, "on_exit")):
        listeners = [d for d in destinations if getattr(d, wanted)]
        if not ids or not listeners:
            continue
        traits = set().union(*(set(d.traits or []) for d in listeners))
        payloads = _payloads(segment=segment, profile_ids=ids, trigger=trigger, traits=traits, now=now)
        sequences = _move_sequences(segment=segment, profile_ids=ids, trigger=trigger)
        for destination in listeners:
            keep = set(destination.traits or [])
            for pid in ids:
                payload = {
                    **payloads[pid],
                    "sequence": sequences[pid],
                    "traits": {k: v for k, v in payloads[pid]["traits"].items() if k in keep},
                }
                rows.append(
                    Delivery(
                        destination=destination,
                        profile_id=pid,
                        trigger=trigger,
                        sequence=sequences[pid],
                        payload=payload,
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
    if not rows:
        return []
    created = Delivery.objects.bulk_create(rows, batch_size=CHUNK)
    ids = [d.pk for d in created if d.pk is not None]
    if len(ids) != len(created):  # backends without RETURNING for bulk inserts
        ids = list(
            Delivery.objects.filter(destination__segment=segment, created_at=now).values_list("pk", flat=True)
        )

    from .tasks import destination_deliver_many_task

    def enqueue():
        for start in range(0, len(ids), 100):
            destination_deliver_many_task.delay(ids[start : start + 100])

    transaction.on_commit(enqueue)
    return ids
