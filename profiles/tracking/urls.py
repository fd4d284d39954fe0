"""The Segment-compatible tracking API under /v1/ (write-key auth).

The one-letter paths are what analytics.js (analytics-next) posts to: /v1/t, /v1/i, /v1/p, /v1/s, /v1/g,
/v1/a and /v1/b for batches.
"""

from django.urls import path

from .rudderstack import source_config
from .views import analytics_settings, tracking_view

CALLS = ("track", "identify", "page", "screen", "group", "alias", "batch")

urlpatterns = [path(call, tracking_view(call), name=f"tracking_{call}") for call in CALLS]
urlpatterns += [path(call[0], tracking_view(call), name=f"tracking_{call[0]}") for call in CALLS]
urlpatterns += [path("import", tracking_view("batch"), name="tracking_import")]
urlpatterns += [path("projects/<str:write_key>/settings", analytics_settings, name="tracking_settings")]

# Mounted at the root (cdpcrm.urls): RudderStack's browser SDK loads /sourceConfig/ from its `configUrl` and,
# with `useBeacon`, posts to <dataPlaneUrl>/beacon/v1/batch?writeKey=KEY (a beacon carries no headers).
root_urlpatterns = [
    path("sourceConfig/", source_config, name="tracking_source_config"),
    path("beacon/v1/batch", tracking_view("batch", key_in_query=True), name="tracking_beacon_batch"),
]
