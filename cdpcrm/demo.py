"""Demo users, one per role, shared by every app's demo data."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from .roles import ADMIN, MARKETING, SALES, STAFF_ROLES, SUPPORT

DEMO_PASSWORD = "cdpcrm-demo"  # noqa: S105 - printed on purpose: demo data only
DEMO_USERS = (
    # username, first, last, role
    ("admin", "Ada", "Admin", ADMIN),
    ("sales", "Sam", "Seller", SALES),
    ("sales2", "Priya", "Patel", SALES),
    ("sales3", "Marco", "Rossi", SALES),
    ("support", "Sofia", "Support", SUPPORT),
    ("support2", "Liam", "Chen", SUPPORT),
    ("marketing", "Maya", "Marketer", MARKETING),
)


def demo_users_ensure() -> dict[str, object]:
    User = get_user_model()
    users = {}
    for username, first, last, role in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@modish.example"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
        user.is_staff = role in STAFF_ROLES
        user.is_superuser = role == ADMIN
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        users[username] = user
    return users
