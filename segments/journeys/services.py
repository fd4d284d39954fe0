"""Writes of journeys: saving and publishing versions, pause/resume, enrolling profiles.

Publishing copies the working definition into a new immutable JourneyVersion; new enrolments use the live
version and running ones finish on the version they entered. Enrolling inserts rows that are due at once;
the sweeper (or the kick queued after the commit) runs their first steps.
"""

import datetime

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from profiles.models import Profile

from ..models import Segment
from ..rules import rule_compile
from .definition import DefinitionError, definition_validate
from .models import Enrolment, Journey, JourneyVersion

LIVE_CACHE_KEY = "journeys:live:v2"


def definition_lookups(journey: Journey | None = None) -> dict:
    from ..audiences.models import AudienceDestination
    from ..webhooks.models import Endpoint
    from .mail import mailbox_can_send, template_exists

    return {
        "segment": lambda pk: Segment.objects.filter(pk=pk).exists(),
        "segment_rule": lambda pk: Segment.objects.filter(pk=pk).values_list("rule", flat=True).first(),
        "journey": lambda pk: Journey.objects.filter(pk=pk).exists(),
        "endpoint": lambda pk: Endpoint.objects.filter(pk=pk).exists(),
        "destination": lambda pk: AudienceDestination.objects.filter(pk=pk).exists(),
        "template": template_exists,
        "mailbox": mailbox_can_send,
        "self_id": journey.pk if journey else None,
    }


def live_changed() -> None:
    """Forget the cached live journeys (every process re-reads them on their next trigger check)."""
    transaction.on_commit(lambda: cache.delete(LIVE_CACHE_KEY))
    cache.delete(LIVE_CACHE_KEY)


@transaction.atomic
def journey_save(
    *,
    user,
    name: str,
    definition: dict,
    journey: Journey | None = None,
    description: str = "",
    reenrol: str = Journey.Reenrol.ONCE,
    reenrol_days: int = 30,
) -> Journey:
    """Create or edit a journey. Editing a live or paused journey publishes a new version when the
    definition changed; running enrolments stay on their version."""
    journey = journey or Journey(created_by=user if user is not None and user.is_authenticated else None)
    definition_validate(definition=definition, lookups=definition_lookups(journey))
    journey.name = (name or "").strip()
    journey.description = (description or "").strip()
    journey.definition = definition
    journey.reenrol = reenrol
    journey.reenrol_days = reenrol_days
    journey.full_clean(exclude=["definition", "live_version"])
    journey.save()
    live = journey.live_version
    if journey.status != Journey.Status.DRAFT and (live is None or live.definition != definition):
        journey_publish(journey=journey, user=user)
    live_changed()
    return journey


@transaction.atomic
def journey_publish(*, journey: Journey, user) -> JourneyVersion:
    """Publish the working definition as the next version and make the journey live (unless paused)."""
    locked = Journey.objects.select_for_update().get(pk=journey.pk)
    definition_validate(definition=locked.definition, lookups=definition_lookups(locked))
    number = (JourneyVersion.objects.filter(journey=locked).aggregate(n=Max("number"))["n"] or 0) + 1
    version = JourneyVersion.objects.create(
        journey=locked,
        number=number,
        definition=locked.definition,
        published_at=timezone.now(),
        published_by=user if user is not None and user.is_authenticated else None,
    )
    locked.live_version = version
    if locked.status == Journey.Status.DRAFT:
        locked.status = Journey.Status.LIVE
    locked.save(update_fields=["live_version", "status", "updated_at"])
    journey.live_version, journey.status = version, locked.status
    live_changed()
    return version


@transaction.atomic
def journey_pause(*, journey: Journey, user) -> Journey:
    """Hold every profile where it is: no step runs and nobody enters until the journey resumes."""
    if journey.status != Journey.Status.LIVE:
        raise DefinitionError([("status", "Only a live journey can be paused.")])
    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.PAUSED, updated_at=timezone.now())
    journey.status = Journey.Status.PAUSED
    live_changed()
    return journey


@transaction.atomic
def journey_resume(*, journey: Journey, user) -> Journey:
    """Resume a paused journey; steps that fell due during the pause run on the next sweep."""
    if journey.status != Journey.Status.PAUSED:
        raise DefinitionError([("status", "Only a paused journey can be resumed.")])
    Journey.objects.filter(pk=journey.pk).update(status=Journey.Status.LIVE, updated_at=timezone.now())
    journey.status = Journey.Status.LIVE
    live_changed()
    from .tasks import journeys_due_task

    transaction.on_commit(journeys_due_task.delay)
    return journey


def live_journeys() -> list[dict]:
    """The live journeys with their live definitions, cached until a journey changes."""
    cached = cache.get(LIVE_CACHE_KEY)
    if cached is not None:
        return cached
    journeys = list(
        Journey.objects.filter(status=Journey.Status.LIVE, live_version__isnull=False).select_related(
            "live_version"
        )
    )
    # Running enrolments finish on their own version: the waits and goal/exit rules of every version count.
    waits: dict[int, list[dict]] = {j.pk: [] for j in journeys}
    watched: set[int] = set()
    for journey_id, version_id, definition in JourneyVersion.objects.filter(journey__in=journeys).values_list(
        "journey_id", "pk", "definition"
    ):
        waits[journey_id] += [
            {"version": version_id, **step}
            for step in definition.get("steps", [])
            if step.get("type") == "wait_event"
        ]
        if definition.get("goal") or definition.get("exit"):
            watched.add(journey_id)
    rows = [
        {
            "id": j.pk,
            "name": j.name,
            "version": j.live_version_id,
            "definition": j.live_version.definition,
            "reenrol": j.reenrol,
            "reenrol_days": j.reenrol_days,
            "waits": waits[j.pk],
            "goal_or_exit": j.pk in watched,
        }
        for j in journeys
    ]
    cache.set(LIVE_CACHE_KEY, rows, 300)
    return rows


def profiles_enrol(
    *,
    journey_id: int,
    refs: dict[int, str],
    now: datetime.datetime | None = None,
    journey: dict | None = None,
) -> set[int]:
    """Enrol profiles (profile id -> what enrolled it) in a live journey, within the caller's transaction.
    Profiles already in it, done with it (once) or enrolled too recently (again after N days), or failing
    the trigger's extra condition, are left out. Returns the profile ids enrolled."""
    now = now or timezone.now()
    if journey is None:
        journey = next((j for j in live_journeys() if j["id"] == journey_id), None)
    if journey is None or not refs:
        return set()
    ids = set(
        Profile.objects.filter(pk__in=list(refs), merged_into__isnull=True).values_list("pk", flat=True)
    )
    previous = Enrolment.objects.filter(journey_id=journey_id, profile_id__in=ids)
    if journey["reenrol"] == Journey.Reenrol.ONCE:
        ids -= set(previous.values_list("profile_id", flat=True))
    else:
        since = now - datetime.timedelta(days=journey["reenrol_days"])
        ids -= set(previous.filter(entered_at__gt=since).values_list("profile_id", flat=True)) | set(
            previous.filter(state=Enrolment.State.ACTIVE).values_list("profile_id", flat=True)
        )
    condition = (journey["definition"].get("trigger") or {}).get("if")
    if condition and ids:
        ids &= set(
            rule_compile(
                rule=condition, now=now, profiles=Profile.objects.filter(pk__in=ids), live_only=False
            ).values_list("pk", flat=True)
        )
    if not ids:
        return set()
    rows = [
        Enrolment(
            journey_id=journey_id,
            version_id=journey["version"],
            profile_id=pid,
            trigger_ref=refs[pid][:120],
            step="",
            step_started_at=now,
            due_at=now,
            entered_at=now,
        )
        for pid in sorted(ids)
    ]
    try:
        with transaction.atomic():
            Enrolment.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    except IntegrityError:  # pragma: no cover - ignore_conflicts covers every unique constraint
        return set()
    enrolled = set(
        Enrolment.objects.filter(
            journey_id=journey_id, profile_id__in=ids, entered_at=now, state=Enrolment.State.ACTIVE
        ).values_list("profile_id", flat=True)
    )
    if enrolled:
        from .tasks import journeys_due_task

        transaction.on_commit(journeys_due_task.delay)
    return enrolled


@transaction.atomic
def profile_enrol_manual(*, journey: Journey, profile: Profile, user) -> Enrolment | None:
    """Enrol one profile by hand (API); None when the enrolment rules keep it out."""
    now = timezone.now()
    if journey.status != Journey.Status.LIVE:
        raise DefinitionError([("journey", "The journey is not live.")])
    enrolled = profiles_enrol(journey_id=journey.pk, refs={profile.pk: f"manual:{now.isoformat()}"}, now=now)
    if profile.pk not in enrolled:
        return None
    return Enrolment.objects.get(journey=journey, profile=profile, state=Enrolment.State.ACTIVE)
