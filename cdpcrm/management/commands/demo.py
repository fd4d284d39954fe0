"""Load the demo data set: Modish, an online fashion retailer. Deterministic and idempotent."""

from importlib import import_module

from django.core.management.base import BaseCommand

from cdpcrm.demo import DEMO_PASSWORD, DEMO_USERS, demo_users_ensure

# Each app's `<app>/demo.py` has `demo_load(*, users, stdout)`; order follows the app dependencies.
DEMO_APPS = (
    "contacts",
    "pipeline",
    "tickets",
    "contacts.mail",
    "profiles",
    "profiles.connectors",
    "segments",
)


class Command(BaseCommand):
    help = "Create demo users and realistic demo data (safe to run twice)."

    def handle(self, *args, **options):
        users = demo_users_ensure()
        for app_label in DEMO_APPS:
            try:
                module = import_module(f"{app_label}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app_label}.demo":
                    raise
                continue
            module.demo_load(users=users, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Logins (password for all: {DEMO_PASSWORD}):"))
        for username, first, last, role in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {role:<10} {first} {last}")
