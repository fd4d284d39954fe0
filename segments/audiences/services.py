"""Writes of audience destinations: who should be in each audience, and syncing the difference in batches.

Segment moves and journey steps only mark members wanted/unwanted (inside their transaction); the sync
claims unsynced members in batches (SKIP LOCKED on PostgreSQL), sends one request per batch with its adds
and removes, and marks them synced in the same transaction, so a failed request changes nothing and the
next sync (with backoff) sends the same members again.
"""

import datetime
import secrets
from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone

from common import outbound
from profiles.models import Identity, Profile

from ..consent import contact_refusals
from . import adapters
from .identifiers import email_normalise, phone_normalise
from .models import AudienceDestination, AudienceMember, AudienceSync

MAX_BATCHES_PER_RUN = 50


def _mark(*, destination_id: int, profile_ids: list[int], wanted: bool, now: datetime.datetime) -> None:
    ids = sorted(set(profile_ids))
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        AudienceMember.objects.filter(destination_id=destination_id, profile_id__in=chunk).exclude(
            wanted=wanted, synced=True
        ).update(wanted=wanted, synced=False, changed_at=now, skipped_reason="")
        if wanted:
            AudienceMember.objects.bulk_create(
                [
                    AudienceMember(destination_id=destination_id, profile_id=pid, wanted=True, changed_at=now)
                    for pid in chunk
                ],
                ignore_conflicts=True,
            )


def _kick(destination_id: int) -> None:
    from .tasks import audience_sync_task

    transaction.on_commit(lambda: audience_sync_task.delay(destination_id))


def segment_moves(*, segment, enter_ids, exit_ids, now) -> None:
    """Segment evaluation hook (inside its transaction): entering members are wanted, leaving ones not."""
    for destination_id in AudienceDestination.objects.filter(segment=segment, enabled=True).values_list(
        "pk", flat=True
    ):
        if enter_ids:
            _mark(destination_id=destination_id, profile_ids=enter_ids, wanted=True, now=now)
        if exit_ids:
            _mark(destination_id=destination_id, profile_ids=exit_ids, wanted=False, now=now)
        _kick(destination_id)


def audience_members_change(
    *, destination_id: int, profile_ids: list[int], add: bool, now: datetime.datetime
) -> str | None:
    """A journey step adds or removes profiles; returns the destination's name (None if it is gone)."""
    destination = AudienceDestination.objects.filter(pk=destination_id).only("pk", "name").first()
    if destination is None:
        return None
    _mark(destination_id=destination_id, profile_ids=profile_ids, wanted=add, now=now)
    _kick(destination_id)
    return destination.name


def _people(destination: AudienceDestination, members: list[AudienceMember]) -> dict[int, adapters.Person]:
    ids = [m.profile_id for m in members]
    found: dict[int, dict[str, list[str]]] = defaultdict(lambda: {"email": [], "phone": []})
    for pid, kind, value in (
        Identity.objects.filter(profile_id__in=ids, kind__in=["email", "phone"])
        .order_by("profile_id", "id")
        .values_list("profile_id", "kind", "value")
    ):
        found[pid][kind].append(value)
    traits = dict(Profile.objects.filter(pk__in=ids).values_list("pk", "traits"))
    mapping = destination.field_mapping or {}
    people = {}
    for pid in ids:
        own = traits.get(pid) or {}
        emails = [
            e for e in (email_normalise(v) for v in [*found[pid]["email"], own.get("email") or ""]) if e
        ]
        phones = [
            p for p in (phone_normalise(v) for v in [*found[pid]["phone"], own.get("phone") or ""]) if p
        ]
        fields = {target: own[trait] for trait, target in mapping.items() if own.get(trait) not in (None, "")}
        people[pid] = adapters.Person(
            profile_id=pid,
            emails=list(dict.fromkeys(emails)),
            phones=list(dict.fromkeys(phones)),
            fields=fields,
        )
    return people


def _claim(destination_id: int, limit: int) -> list[AudienceMember]:
    rows = AudienceMember.objects.filter(destination_id=destination_id, synced=False).order_by(
        "changed_at", "id"
    )
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True)
    return list(rows[:limit])


def destination_sync(*, destination_id: int, now: datetime.datetime | None = None) -> int:
    """Send the unsynced members in batches; returns how many were synced. Failures back off."""
    now = now or timezone.now()
    destination = AudienceDestination.objects.filter(pk=destination_id, enabled=True).first()
    if destination is None:
        return 0
    size = max(1, min(destination.batch_size, 10000 if destination.kind == "meta" else 500))
    total = AudienceMember.objects.filter(destination=destination, synced=False).count()
    session = {
        "session_id": secrets.randbelow(2**53) + 1,
        "batch_seq": 0,
        "last_batch_flag": False,
        "estimated_num_total": total,
    }
    done = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        with transaction.atomic():
            members = _claim(destination.pk, size)
            if not members:
                break
            refused = contact_refusals(profile_ids=[m.profile_id for m in members], purpose="advertising")
            people = _people(destination, members)
            adds = [people[m.profile_id] for m in members if m.wanted and m.profile_id not in refused]
            removes = [people[m.profile_id] for m in members if not m.wanted or m.profile_id in refused]
            session["batch_seq"] += 1
            session["last_batch_flag"] = done + len(members) >= total
            kwargs = {"session": dict(session)} if destination.kind == "meta" else {}
            try:
                result = adapters.sync(destination, adds, removes, **kwargs)
            except (adapters.AdapterError, outbound.OutboundRefused) as exc:
                result = adapters.Result(ok=False, status_line=str(exc))
            except Exception as exc:  # noqa: BLE001 - connection problems are recorded and retried
                result = adapters.Result(ok=False, status_line=outbound.error_line(exc))
            if result.ok:
                for member in members:
                    member.synced, member.synced_at = True, now
                    member.skipped_reason = refused.get(member.profile_id, "")[:200]
                AudienceMember.objects.bulk_update(members, ["synced", "synced_at", "skipped_reason"])
        AudienceSync.objects.create(
            destination=destination,
            started_at=now,
            adds=len(adds),
            removes=len(removes),
            skipped=len(refused),
            ok=result.ok,
            status_line=result.status_line[:300],
        )
        if not result.ok:
            failures = destination.failures + 1
            AudienceDestination.objects.filter(pk=destination.pk).update(
                failures=failures,
                next_sync_at=now + datetime.timedelta(minutes=min(2 ** (failures - 1), 240)),
                last_status=result.status_line[:300],
            )
            return done
        done += len(members)
        if len(members) < size:
            break
    AudienceDestination.objects.filter(pk=destination.pk).update(
        failures=0,
        next_sync_at=None,
        last_status=f"Synced {done} member(s) at {now:%Y-%m-%d %H:%M} UTC"
        if done
        else destination.last_status,
    )
    return done


def destinations_sync_due(*, now: datetime.datetime | None = None) -> int:
    """Beat: every enabled destination with unsynced members whose backoff has passed."""
    now = now or timezone.now()
    due = AudienceDestination.objects.filter(enabled=True).exclude(next_sync_at__gt=now)
    return sum(
        destination_sync(destination_id=pk, now=now)
        for pk in due.values_list("pk", flat=True)
        if AudienceMember.objects.filter(destination_id=pk, synced=False).exists()
    )


@transaction.atomic
def destination_segment_fill(*, destination: AudienceDestination) -> int:
    """Mark every current member of the destination's segment wanted (after creating or changing it)."""
    from ..models import Membership

    if destination.segment_id is None:
        return 0
    ids = list(
        Membership.objects.filter(segment_id=destination.segment_id, exited_at__isnull=True).values_list(
            "profile_id", flat=True
        )
    )
    _mark(destination_id=destination.pk, profile_ids=ids, wanted=True, now=timezone.now())
    _kick(destination.pk)
    return len(ids)
