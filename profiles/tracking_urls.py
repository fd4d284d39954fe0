"""The Segment-compatible tracking API under /v1/ (write-key auth).

The one-letter paths are what analytics.js (analytics-next) posts to: /v1/t, /v1/i, /v1/p, /v1/s, /v1/g,
/v1/a and /v1/b for batches.
"""

from django.urls import path

from .tracking_views import analytics_settings, tracking_view

CALLS = ("track", "identify", "page", "screen", "group", "alias", "batch")

urlpatterns = [path(call, tracking_view(call), name=f"tracking_{call}") for call in CALLS]
urlpatterns += [path(call[0], tracking_view(call), name=f"tracking_{call[0]}") for call in CALLS]
urlpatterns += [path("import", tracking_view("batch"), name="tracking_import")]
urlpatterns += [path("projects/<str:write_key>/settings", analytics_settings, name="tracking_settings")]
