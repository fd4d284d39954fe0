"""The inbound connector URL, mounted under /v1/webhooks/ (in the tracking fast path: no session or CSRF)."""

from django.urls import path

from .views import webhook

urlpatterns = [path("<int:source_id>/<str:kind>", webhook, name="connector_webhook")]
