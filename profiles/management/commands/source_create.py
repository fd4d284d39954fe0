"""`manage.py source_create --name NAME --kind KIND`: create a source and print only its new write key."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from profiles.models import Source
from profiles.sources.services import source_create


class Command(BaseCommand):
    help = "Create a tracking source and print its write key (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, choices=Source.Kind.values)

    def handle(self, *args, name: str, kind: str, **options):
        try:
            _, write_key = source_create(name=name, kind=kind)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(write_key)
