"""Create a named read-write REST API token for a user and print its key: `manage.py api_token <username>`."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from common.security.models import ApiToken
from common.security.tokens import api_token_create


class Command(BaseCommand):
    help = (
        "Create a new API token for a user and print only the key (shown this once; tokens are stored hashed). "
        "List and revoke tokens on the user's API tokens page or in the admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="manage.py api_token", help="a name to tell the token apart")
        parser.add_argument("--read-only", action="store_true", help="the token may only read (GET)")

    def handle(self, *args, username: str, name: str, read_only: bool, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        scope = ApiToken.Scope.READ if read_only else ApiToken.Scope.WRITE
        _token, key = api_token_create(user=user, name=name, scope=scope, actor=None)
        self.stdout.write(key)
