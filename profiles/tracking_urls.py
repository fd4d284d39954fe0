"""The Segment-compatible tracking API under /v1/ (write-key auth)."""

urlpatterns: list = []
