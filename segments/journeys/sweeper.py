"""The due-step sweeper: indexed due times claimed in batches with SKIP LOCKED, run in the claim's transaction.

`Enrolment.due_at` is the timer (no Celery eta: an eta longer than the broker's visibility timeout would be
redelivered again and again under acks_late). A beat task every few seconds, and a kick after every
enrolment, claims due rows of live journeys oldest first; paused journeys' rows are not claimed, which is
what holds their profiles. Each batch is one transaction: the step runs, the enrolment moves on and its
path is written together, so a killed worker leaves the rows due for the next sweep and never runs a step
twice. Two sweepers on PostgreSQL take different rows (SKIP LOCKED).
"""

import datetime
import logging
import os
import time

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from .counters import days_add, step_counts_reconcile, steps_add
from .engine import Round, runs_save
from .models import Enrolment, Journey, JourneyVersion, StepLog

logger = logging.getLogger(__name__)

CLAIM_FIELDS = (
    "id",
    "journey_id",
    "version_id",
    "profile_id",
    "step",
    "steps_taken",
    "entered_at",
    "step_started_at",
)


def _test_delay() -> None:
    """Hold the claim's transaction open for the worker-kill test; honoured only against a pytest database."""
    delay = os.environ.get("JOURNEYS_TEST_DELAY_SECONDS")
    if delay and connection.settings_dict["NAME"].startswith("test_"):
        time.sleep(float(delay))


def _claim(*, journey_ids: list[int], now: datetime.datetime, limit: int) -> list[Enrolment]:
    due = Enrolment.objects.filter(
        journey_id__in=journey_ids, state=Enrolment.State.ACTIVE, due_at__lte=now
    ).order_by("due_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True, of=("self",))
    return list(due.only(*CLAIM_FIELDS)[:limit])


def _one_by_one(
    *, journey_ids: list[int], now: datetime.datetime, limit: int, names: dict
) -> list[Enrolment]:
    """The failed batch again, each enrolment in its own transaction; one whose step raises is taken out of
    the journey with the reason on its path, so it cannot block the sweep again and again."""
    with transaction.atomic():
        ids = [e.pk for e in _claim(journey_ids=journey_ids, now=now, limit=limit)]  # locks end here
    done = []
    for enrolment_id in ids:
        round_ = Round(now=now, journey_names=names)
        try:
            with transaction.atomic():
                rows = Enrolment.objects.filter(
                    pk=enrolment_id, journey_id__in=journey_ids, state=Enrolment.State.ACTIVE, due_at__lte=now
                )
                if connection.features.has_select_for_update_skip_locked:
                    rows = rows.select_for_update(skip_locked=True, of=("self",))
                rows = list(rows.only(*CLAIM_FIELDS))
                if rows:
                    runs_save(runs=round_.run(rows), now=now)
                    done += rows
        except OperationalError:
            raise
        except Exception as error:  # noqa: BLE001 - recorded on the enrolment's path
            logger.exception("journey enrolment %s failed at its step", enrolment_id)
            with transaction.atomic():
                enrolment = Enrolment.objects.select_for_update().filter(pk=enrolment_id).first()
                if enrolment is None or enrolment.state != Enrolment.State.ACTIVE:
                    continue
                step = round_.current_step or enrolment.step or "entry"
                reason = f"Failed at step {step}: {type(error).__name__}"
                StepLog.objects.create(
                    enrolment=enrolment,
                    journey_id=enrolment.journey_id,
                    profile_id=enrolment.profile_id,
                    step=round_.current_step or enrolment.step,
                    sequence=enrolment.steps_taken + 1,
                    kind=StepLog.Kind.FAILED,
                    summary=reason,
                    at=now,
                )
                Enrolment.objects.filter(pk=enrolment_id).update(
                    state=Enrolment.State.EXITED,
                    due_at=None,
                    ended_at=now,
                    end_reason=reason,
                    steps_taken=enrolment.steps_taken + 1,
                )
                if enrolment.step:
                    steps_add(deltas={(enrolment.version_id, enrolment.step): -1})
                days_add(journey_id=enrolment.journey_id, day=timezone.localdate(now), exited=1)
                done.append(enrolment)
    return done


def due_steps_process(
    *, now: datetime.datetime | None = None, limit: int | None = None, max_batches: int | None = None
) -> int:
    """Run every due step of live journeys (batch after batch); returns the enrolments advanced."""
    limit = limit or settings.JOURNEYS_SWEEP_BATCH
    handled = batches = 0
    while max_batches is None or batches < max_batches:
        moment = now or timezone.now()
        names = dict(Journey.objects.filter(status=Journey.Status.LIVE).values_list("pk", "name"))
        if not names:
            return handled
        try:
            with transaction.atomic():
                claimed = _claim(journey_ids=list(names), now=moment, limit=limit)
                if not claimed:
                    return handled
                runs = Round(now=moment, journey_names=names).run(claimed)
                runs_save(runs=runs, now=moment)
                _test_delay()
        except OperationalError:
            raise  # a deadlock or a lost connection: the task's autoretry runs the batch again
        except Exception:  # noqa: BLE001 - one enrolment's step failed: isolate it, run the others
            logger.exception("a journey batch failed; running its enrolments one by one")
            claimed = _one_by_one(journey_ids=list(names), now=moment, limit=limit, names=names)
            if not claimed:
                return handled
        handled += len(claimed)
        batches += 1
        if len(claimed) < limit:
            return handled
    return handled


def step_counts_reconcile_all() -> int:
    """Recount the step counters of every version of a live or paused journey; returns the versions done."""
    versions = list(
        JourneyVersion.objects.exclude(journey__status=Journey.Status.DRAFT)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for version_id in versions:
        step_counts_reconcile(version_id=version_id)
    return len(versions)
