"""Full recompute of segment membership (all active segments, or the ones named by id)."""

import time

from django.core.management.base import BaseCommand

from segments.models import Segment
from segments.services import segment_recompute, segments_recompute_all


class Command(BaseCommand):
    help = "Recompute segment membership from scratch (set difference in SQL) and print who entered/left."

    def add_arguments(self, parser):
        parser.add_argument(
            "segment_ids", nargs="*", type=int, help="Segment ids (default: every active segment)"
        )

    def handle(self, *args, segment_ids, **options):
        started = time.monotonic()
        if segment_ids:
            results = {sid: segment_recompute(segment_id=sid) for sid in segment_ids}
        else:
            results = segments_recompute_all()
        names = dict(Segment.objects.filter(pk__in=list(results)).values_list("pk", "name"))
        for sid, (entered, exited) in results.items():
            self.stdout.write(f"{names.get(sid, sid)}: +{entered} -{exited}")
        self.stdout.write(f"{len(results)} segment(s) in {time.monotonic() - started:.2f} s")
