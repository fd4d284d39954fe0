"""What starts or moves enrolments besides the clock: segment moves, arriving events, CRM changes.

Segment moves and CRM changes are handled inside the transaction that made them (the enrolment commits
with the change); events are handled by a task right after their batch commits, and a wait for an event
moves on in that task, so the next step starts within moments of the event.
"""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from contacts.models import Contact
from contacts.signals import CrmChange
from profiles.models import Event, Identity, Profile
from profiles.unify.contact import profile_ids_for_contacts

from ..rules.compiler import value_condition
from .engine import Round, runs_save
from .models import Enrolment
from .services import live_journeys, profiles_enrol
from .sweeper import CLAIM_FIELDS

# Without `events_since` (a contact link, a merge): events this recent may enrol on event triggers.
EVENT_LOOKBACK = datetime.timedelta(hours=1)


def trigger_window_start(
    *, now: datetime.datetime, events_since: datetime.datetime | None
) -> datetime.datetime:
    """The oldest event timestamp that may still enrol: the batch's own earliest event, however late the
    pipeline stored it (a backlog, a phone that was offline), but never one older than
    JOURNEYS_EVENT_MAX_AGE_HOURS (a historical import is not a customer doing something now)."""
    oldest = now - datetime.timedelta(hours=settings.JOURNEYS_EVENT_MAX_AGE_HOURS)
    if events_since is None:
        return max(now - EVENT_LOOKBACK, oldest)
    return max(events_since, oldest)


def _events(name: str, where: list, now: datetime.datetime):
    events = Event.objects.filter(name=name)
    for condition in where or []:
        events = events.filter(
            value_condition(F("properties"), condition["property"], condition["op"], condition["value"], now)
        )
    return events


# --- segments -----------------------------------------------------------------------------------------


def segment_moved(
    *, segment_id: int, enter_ids: list[int], exit_ids: list[int], now: datetime.datetime
) -> None:
    """Inside the segment evaluation's transaction: enrol into journeys triggered by this move."""
    for journey in live_journeys():
        trigger = journey["definition"]["trigger"]
        if trigger.get("segment") != segment_id:
            continue
        ids = (
            enter_ids
            if trigger["type"] == "segment_entered"
            else exit_ids
            if trigger["type"] == "segment_exited"
            else []
        )
        if ids:
            move = "enter" if trigger["type"] == "segment_entered" else "exit"
            ref = f"segment:{segment_id}:{move}:{now.isoformat()}"
            profiles_enrol(journey_id=journey["id"], refs=dict.fromkeys(ids, ref), now=now, journey=journey)


# --- events -------------------------------------------------------------------------------------------


def events_arrived(
    *,
    profile_ids: Iterable[int],
    now: datetime.datetime | None = None,
    events_since: datetime.datetime | None = None,
) -> int:
    """After an ingest batch: enrol on event triggers, move waits whose event came, check goal and exit.
    `events_since` is the earliest timestamp of the batch's events (see `trigger_window_start`)."""
    now = now or timezone.now()
    window_start = trigger_window_start(now=now, events_since=events_since)
    ids = sorted(set(profile_ids))
    journeys = live_journeys()
    if not ids or not journeys:
        return 0
    moved = 0
    with transaction.atomic():
        for journey in journeys:
            trigger = journey["definition"]["trigger"]
            if trigger["type"] != "event":
                continue
            events = (
                _events(trigger["event"], trigger.get("where"), now)
                .filter(profile_id__in=ids, timestamp__gte=window_start)
                .order_by("profile_id", "timestamp", "id")
                .values_list("profile_id", "pk")
            )
            refs: dict[int, str] = {}
            for profile_id, event_id in events:
                refs.setdefault(profile_id, f"event:{event_id}")
            if refs:
                profiles_enrol(journey_id=journey["id"], refs=refs, now=now, journey=journey)
    moved += _waits_release(journeys=journeys, profile_ids=ids, now=now)
    moved += _goal_exit_check(journeys=journeys, profile_ids=ids, now=now)
    return moved


def _locked_active(*, filters: dict) -> list[Enrolment]:
    rows = Enrolment.objects.filter(state=Enrolment.State.ACTIVE, **filters).order_by("id")
    if connection.features.has_select_for_update_skip_locked:
        # A row the sweeper holds is being moved by it right now; it will be looked at again then.
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    return list(rows.only(*CLAIM_FIELDS))


def _waits_release(*, journeys: list[dict], profile_ids: list[int], now: datetime.datetime) -> int:
    moved = 0
    names = {j["id"]: j["name"] for j in journeys}
    for journey in journeys:
        for step in journey["waits"]:
            with transaction.atomic():
                happened = _events(step["event"], step.get("where"), now).filter(
                    profile_id=OuterRef("profile_id"),
                    timestamp__gt=OuterRef("step_started_at"),
                    timestamp__lte=now,
                )
                waiting = _locked_active(
                    filters={"version_id": step["version"], "step": step["id"], "profile_id__in": profile_ids}
                )
                if not waiting:
                    continue
                hit = set(
                    Enrolment.objects.filter(pk__in=[e.pk for e in waiting])
                    .filter(Exists(happened))
                    .values_list("pk", flat=True)
                )
                ready = [e for e in waiting if e.pk in hit]
                if ready:
                    runs = Round(now=now, journey_names=names).run(ready, fire_due=False, event_ids=hit)
                    runs_save(runs=runs, now=now)
                    moved += len(ready)
    return moved


def _goal_exit_check(*, journeys: list[dict], profile_ids: list[int], now: datetime.datetime) -> int:
    """Profiles whose facts changed: end enrolments whose goal (converted) or exit condition now holds."""
    ended = 0
    names = {j["id"]: j["name"] for j in journeys}
    watched = [j["id"] for j in journeys if j["goal_or_exit"]]
    if not watched:
        return 0
    with transaction.atomic():
        active = _locked_active(filters={"journey_id__in": watched, "profile_id__in": profile_ids})
        active = [e for e in active if e.step]
        if active:
            runs = Round(now=now, journey_names=names).run(active, fire_due=False, event_ids=set())
            runs_save(runs=runs, now=now)
            ended = sum(1 for r in runs if r.state != Enrolment.State.ACTIVE)
    return ended


# --- CRM changes ---------------------------------------------------------------------------------------


def _crm_matches(trigger: dict, change: CrmChange) -> bool:
    kind, to = trigger["change"], trigger.get("to") or None
    fields = change.data.get("fields") or {}
    if kind == "contact.lifecycle_changed":
        return (
            change.topic == "contact.updated"
            and "lifecycle_stage" in fields
            and to in (None, fields["lifecycle_stage"][1])
        )
    if kind == "contact.field_changed":
        return change.topic == "contact.updated" and trigger.get("field") in fields
    if kind == "deal.stage_changed":
        return change.topic == "deal.stage_changed" and (to is None or change.data.get("stage") == to)
    if kind == "loyalty.tier_changed":
        return change.topic == "loyalty.tier_changed" and to in (None, fields.get("tier", [None, None])[1])
    return change.topic == kind


def profiles_for_contacts_ensure(*, contact_ids: Iterable[int]) -> dict[int, int]:
    """contact id -> its profile id; a contact without one gets a profile (with its e-mail identity)."""
    ids = sorted(set(contact_ids))
    found = dict(
        Profile.objects.filter(contact_id__in=ids, merged_into__isnull=True).values_list("contact_id", "pk")
    )
    for contact in Contact.objects.filter(pk__in=[c for c in ids if c not in found]):
        email = (contact.email or "").strip().lower()
        holder = (
            Identity.objects.filter(kind=Identity.Kind.EMAIL, value=email)
            .values_list("profile_id", flat=True)
            .first()
            if email
            else None
        )
        if holder is not None:
            Profile.objects.filter(pk=holder, contact__isnull=True).update(contact=contact)
            found[contact.pk] = holder
            continue
        traits = {
            k: v
            for k, v in {
                "email": email,
                "first_name": contact.first_name,
                "last_name": contact.last_name,
            }.items()
            if v
        }
        profile = Profile.objects.create(traits=traits, contact=contact)
        if email:
            Identity.objects.create(profile=profile, kind=Identity.Kind.EMAIL, value=email)
        found[contact.pk] = profile.pk
    return found


def crm_change_recorded(change: CrmChange) -> None:
    """Inside the CRM change's transaction: enrol the contacts' profiles into journeys it triggers."""
    if not change.contact_ids or change.topic.endswith(".deleted"):
        return
    matching = [
        j
        for j in live_journeys()
        if j["definition"]["trigger"]["type"] == "crm" and _crm_matches(j["definition"]["trigger"], change)
    ]
    if not matching:
        return
    profiles = profiles_for_contacts_ensure(contact_ids=change.contact_ids)
    instance_id = getattr(change.instance, "pk", "")
    stamp = timezone.now()
    for journey in matching:
        ref = f"crm:{change.topic}:{instance_id}:{stamp.isoformat()}"
        profiles_enrol(
            journey_id=journey["id"], refs=dict.fromkeys(profiles.values(), ref), now=stamp, journey=journey
        )


def crm_facts_changed(*, contact_ids: Iterable[int]) -> int:
    """After a CRM change commits: goal and exit conditions with CRM facts may now hold."""
    journeys = live_journeys()
    if not journeys:
        return 0
    profile_ids = sorted(profile_ids_for_contacts(contact_ids=contact_ids))
    return (
        _goal_exit_check(journeys=journeys, profile_ids=profile_ids, now=timezone.now()) if profile_ids else 0
    )
