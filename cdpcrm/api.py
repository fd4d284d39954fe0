"""The REST API router: each app registers its viewsets in `<app>/api.py` via `register()`."""

from importlib import import_module

from rest_framework.routers import DefaultRouter

# No `.json` suffix routes: `?format=json` does the same, and the suffix reached custom actions as an
# unexpected `format` argument (a 500 on e.g. /api/segments/1/preview.json/).
router = DefaultRouter()
router.include_format_suffixes = False

for app_label in (
    "contacts",
    "pipeline",
    "tickets",
    "profiles",
    "segments",
    "segments.journeys",
    "segments.webhooks",
):
    module = import_module(f"{app_label}.api")
    for prefix, viewset, basename in getattr(module, "ROUTES", ()):
        router.register(prefix, viewset, basename=basename)
