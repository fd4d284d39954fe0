"""The tracking API alone, for TrackingFastPathMiddleware (the same views cdpcrm.urls mounts under /v1/)."""

from django.urls import include, path

from profiles.tracking.urls import root_urlpatterns

urlpatterns = [
    path("v1/webhooks/", include("profiles.connectors.urls")),
    path("v1/", include("profiles.tracking.urls")),
    *root_urlpatterns,
]
