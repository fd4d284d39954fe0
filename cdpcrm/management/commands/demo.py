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
    help = (
        "Create demo users and realistic demo data (safe to run twice; a run after demo rows were deleted "
        "creates the missing ones again)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=2000, help="demo contacts (default 2000)")
        parser.add_argument("--companies", type=int, default=300, help="demo companies (default 300)")

    def handle(self, *args, **options):
        users = demo_users_ensure()
        sizes = {"contacts": options["contacts"], "companies": options["companies"]}
        for app_label in DEMO_APPS:
            try:
                module = import_module(f"{app_label}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app_label}.demo":
                    raise
                continue
            extra = sizes if app_label == "contacts" else {}
            module.demo_load(users=users, stdout=self.stdout, **extra)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Logins (password for all: {DEMO_PASSWORD}):"))
        for username, first, last, role in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {role:<10} {first} {last}")
