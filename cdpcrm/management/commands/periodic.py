"""The embedded mode's beat: run CELERY_BEAT_SCHEDULE's jobs in this process, on their schedule.

Without a broker (SQLite, eager Celery: `make run`) there is no `celery beat`, so nothing would re-enqueue
an inbox batch whose processing failed, slide segment windows, retry webhook deliveries or sweep ticket
e-mails. `make run` starts `manage.py periodic --loop` beside the development server. With a broker,
production runs `celery -A cdpcrm beat` and this command refuses to run.
"""

import datetime
import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cdpcrm.celery import app

logger = logging.getLogger(__name__)


def schedule_seconds(schedule) -> float:
    """Seconds between runs of a beat entry (numbers and timedeltas; this project uses nothing else)."""
    if isinstance(schedule, datetime.timedelta):
        return schedule.total_seconds()
    if isinstance(schedule, int | float) and not isinstance(schedule, bool):
        return float(schedule)
    raise CommandError(f"schedule {schedule!r} is not a number of seconds; run celery beat instead")


def due_entries(next_due: dict[str, float], now: float) -> list[str]:
    """The names of the entries due at `now` (a monotonic clock reading)."""
    return [name for name, at in next_due.items() if now >= at]


class Command(BaseCommand):
    help = "Run the periodic jobs (CELERY_BEAT_SCHEDULE) in this process: the embedded mode has no beat."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep running each job on its schedule")
        parser.add_argument("--tick", type=float, default=5.0, help="seconds between checks (with --loop)")

    def handle(self, *args, loop: bool, tick: float, **options):
        self.verbosity = options["verbosity"]
        if not app.conf.task_always_eager:
            raise CommandError("a broker is configured: run `celery -A cdpcrm beat` and a worker instead")
        app.loader.import_default_modules()  # registers every app's tasks
        entries = settings.CELERY_BEAT_SCHEDULE
        every = {name: schedule_seconds(entry["schedule"]) for name, entry in entries.items()}
        next_due = dict.fromkeys(entries, 0.0)  # everything runs once at start
        while True:
            for name in due_entries(next_due, time.monotonic()):
                next_due[name] = time.monotonic() + every[name]
                self._run(name, entries[name])
            if not loop:
                return
            time.sleep(tick)

    def _run(self, name: str, entry: dict) -> None:
        task = app.tasks[entry["task"]]
        started = time.monotonic()
        try:
            task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}), throw=True)
        except Exception:  # one failing job must not stop the others; it runs again on its schedule
            logger.exception("periodic job %s failed", name)
            self.stderr.write(f"periodic job {name} failed; see the log")
        else:
            if self.verbosity > 0:
                took = (time.monotonic() - started) * 1000
                self.stdout.write(f"{timezone.localtime():%H:%M:%S} ran {name} ({took:.0f} ms)")
