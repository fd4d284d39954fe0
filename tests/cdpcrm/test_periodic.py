"""`manage.py periodic`: the embedded mode's stand-in for celery beat (`make run` starts it with --loop)."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from cdpcrm.celery import app
from cdpcrm.management.commands.periodic import due_entries, schedule_seconds
from profiles.models import Event, IngestBatch
from tests.profiles.factories import make_source, store_batch, track

pytestmark = pytest.mark.django_db


def test_a_batch_left_behind_is_processed_by_the_periodic_jobs(monkeypatch):
    source, _ = make_source()
    monkeypatch.setattr("profiles.services._enqueue", lambda *args, **kwargs: None)  # processing "failed"
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
    sweep = app.tasks["profiles.tasks.batches_sweep_task"]
    monkeypatch.setattr(sweep, "run", lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    monkeypatch.setattr(app.tasks["tickets.tasks.ticket_emails_sweep"], "run", lambda: ran.append("tickets"))

    call_command("periodic")

    assert ran == ["tickets"]
    assert "periodic job profiles-sweep-inbox failed" in capsys.readouterr().err


def test_with_a_broker_it_refuses_and_names_celery_beat(monkeypatch):
    # The command's view of the Celery app, as with a broker configured (eager off); the real app's
    # configuration is left alone, so no later test inherits the change.
    broker_app = SimpleNamespace(conf=SimpleNamespace(task_always_eager=False))
    monkeypatch.setattr("cdpcrm.management.commands.periodic.app", broker_app)
    with pytest.raises(CommandError, match="celery -A cdpcrm beat"):
        call_command("periodic")


def test_jobs_come_due_on_their_own_schedule():
    assert schedule_seconds(30) == 30.0
    assert schedule_seconds(timedelta(minutes=5)) == 300.0
    with pytest.raises(CommandError):
        schedule_seconds("*/5 * * * *")
    assert due_entries({"sweep": 10.0, "purge": 3600.0}, now=11.0) == ["sweep"]
