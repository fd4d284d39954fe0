"""The due-step sweeper: indexed due times claimed in batches with SKIP LOCKED, run in the claim's transaction.

`Enrolment.due_at` is the timer (no Celery eta: an eta longer than the broker's visibility timeout would be
redelivered again and again under acks_late). A beat task every few seconds, and a kick after every
enrolment, claims due rows of live journeys oldest first; paused journeys' rows are not claimed, which is
what holds their profiles. Each batch is one transaction: the step runs, the enrolment moves on and its
path is written together, so a killed worker leaves the rows due for the next sweep and never runs a step
twice. Two sweepers on PostgreSQL take different rows (SKIP LOCKED).
"""

import datetime
import os
import time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .engine import Round, runs_save
from .models import Enrolment, Journey

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
        with transaction.atomic():
            claimed = _claim(journey_ids=list(names), now=moment, limit=limit)
            if not claimed:
                return handled
            runs = Round(now=moment, journey_names=names).run(claimed)
            runs_save(runs=runs, now=moment)
            _test_delay()
        handled += len(claimed)
        batches += 1
        if len(claimed) < limit:
            return handled
    return handled
