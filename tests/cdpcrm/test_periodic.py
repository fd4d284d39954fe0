"""`manage.py periodic`: the embedded mode's stand-in for celery beat (`make run` starts it with --loop)."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from cdpcrm.celery import app
from cdpcrm.management.commands.periodic import due_entries, schedule_seconds
from profiles.models import Event, IngestBatch
from segments import services as segment_services
from segments.models import Membership, WindowExpiry
from tests.conftest import celery_eager_set
from tests.profiles.factories import make_source, store_batch, track
from tests.segments import factories as sf

pytestmark = pytest.mark.django_db


def test_a_batch_left_behind_is_processed_by_the_periodic_jobs(monkeypatch):
    source, _ = make_source()
    monkeypatch.setattr(
        "profiles.ingest.inbox.drain_enqueue", lambda *args, **kwargs: None
    )  # processing "failed"
    batch = store_batch(source, [track(1)])
    monkeypatch.undo()
    long_ago = timezone.now() - timedelta(minutes=5)
    IngestBatch.objects.filter(pk=batch.pk).update(received_at=long_ago, enqueued_at=long_ago)

    call_command("periodic")

    batch.refresh_from_db()
    assert batch.processed_at is not None
    assert list(Event.objects.values_list("message_id", flat=True)) == ["msg-1"]


def test_a_failing_job_does_not_stop_the_others(monkeypatch, capsys):
    ran = []
    app.loader.import_default_modules()  # every app's tasks registered, as the command does
    sweep = app.tasks["profiles.tasks.batches_sweep_task"]
    monkeypatch.setattr(sweep, "run", lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    monkeypatch.setattr(app.tasks["tickets.tasks.ticket_emails_sweep"], "run", lambda: ran.append("tickets"))

    call_command("periodic")

    assert ran == ["tickets"]
    assert "periodic job profiles-sweep-inbox failed" in capsys.readouterr().err


def test_with_a_broker_it_refuses_and_names_celery_beat():
    celery_eager_set(False)  # restored by the autouse fixture of conftest
    with pytest.raises(CommandError, match="celery -A cdpcrm beat"):
        call_command("periodic")


def test_jobs_come_due_on_their_own_schedule():
    assert schedule_seconds(30) == 30.0
    assert schedule_seconds(timedelta(minutes=5)) == 300.0
    with pytest.raises(CommandError):
        schedule_seconds("*/5 * * * *")
    assert due_entries({"sweep": 10.0, "purge": 3600.0}, now=11.0) == ["sweep"]


def test_each_job_it_runs_is_one_line_and_windows_close_within_seconds(capsys):
    prof = sf.profile()
    seg = sf.segment({"event": "Product Added", "within": {"minutes": 1}})
    sf.event(prof, "Product Added", at=timezone.now() - timedelta(seconds=58))
    segment_services.segment_profiles_recheck(segment_id=seg.pk, profile_ids=[prof.pk])
    due = WindowExpiry.objects.get().due_at
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        call_command("periodic")
    out = capsys.readouterr().out.splitlines()
    assert any(line.endswith(")") and " ran segments-windows-due (" in line for line in out)
    assert len([line for line in out if " ran " in line]) == len(settings.CELERY_BEAT_SCHEDULE)
    assert Membership.objects.get(segment=seg, profile=prof).exited_at is not None
