"""Roles (Sales, Support, Marketing, Admin) as auth groups with model permissions per app.

The groups are created by a data migration; their permissions are re-synced after every
`migrate`, so models added by later migrations get the right permissions too.
"""

from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission

SALES, SUPPORT, MARKETING, ADMIN = "Sales", "Support", "Marketing", "Admin"
ROLE_NAMES = (SALES, SUPPORT, MARKETING, ADMIN)
READ = ("view",)
WRITE = ("view", "add", "change", "delete")

# app label -> actions; apps not listed give no permission to that role.
ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    SALES: {
        "contacts": WRITE,
        "mail": WRITE,
        "pipeline": WRITE,
        "tickets": READ,
        "profiles": READ,
        "segments": READ,
        "journeys": READ,
    },
    SUPPORT: {
        "contacts": WRITE,
        "mail": WRITE,
        "tickets": WRITE,
        "pipeline": READ,
        "profiles": READ,
        "journeys": READ,
    },
    MARKETING: {
        "profiles": WRITE,
        "segments": WRITE,
        "journeys": WRITE,
        "audiences": WRITE,
        "contacts": READ,
        "mail": READ,
        "pipeline": READ,
        "tickets": READ,
    },
    # Outbound webhooks (subscriptions, allowed hosts) are the Admin role's alone.
}
# Roles that use the Django admin (marketers build segments there).
STAFF_ROLES = frozenset({MARKETING, ADMIN})


def role_permissions(role: str):
    if role == ADMIN:
        return Permission.objects.all()
    spec = ROLE_PERMISSIONS[role]
    wanted = [
        perm.pk
        for perm in Permission.objects.select_related("content_type").filter(
            content_type__app_label__in=list(spec)
        )
        if perm.codename.split("_", 1)[0] in spec[perm.content_type.app_label]
    ]
    return Permission.objects.filter(pk__in=wanted)


def roles_sync() -> None:
    for role in ROLE_NAMES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(role_permissions(role))


def roles_sync_on_migrate(sender, **kwargs) -> None:
    # post_migrate fires per app with models; sync once, after the last one created its permissions.
    last_with_models = [config for config in global_apps.get_app_configs() if config.models_module][-1]
    if sender.label == last_with_models.label:
        roles_sync()
