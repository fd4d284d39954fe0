"""The REST API router: each app registers its viewsets in `<app>/api.py` via `register()`."""

from importlib import import_module

from rest_framework.routers import DefaultRouter

router = DefaultRouter()

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
