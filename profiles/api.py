"""The REST API of the CDP, as cdpcrm/api.py mounts it: sources, stored events and the Profile API."""

from .sources.api import ROUTES as SOURCE_ROUTES
from .unify.api import ROUTES as PROFILE_ROUTES

# (url prefix, viewset, basename) tuples, mounted under /api/.
ROUTES: list = [*SOURCE_ROUTES, *PROFILE_ROUTES]
