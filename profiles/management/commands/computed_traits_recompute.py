"""Recompute every live profile's computed traits (after defining a trait, or for windows that moved)."""

from django.core.management.base import BaseCommand

from profiles.unify.computed import computed_recompute_all


class Command(BaseCommand):
    help = "Recompute computed traits (built-ins and those defined in the admin) for every live profile."

    def add_arguments(self, parser):
        parser.add_argument("--chunk", type=int, default=500, help="Profiles per query (default 500).")

    def handle(self, *args, chunk: int, **options):
        done = computed_recompute_all(chunk=chunk)
        self.stdout.write(f"Recomputed computed traits for {done} profiles.")
