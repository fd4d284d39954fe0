"""The connector section's URLs under /cdp/connectors/."""

from django.urls import path

from . import page_views

app_name = "connectors"
urlpatterns = [
    path("<int:pk>/", page_views.panel, name="panel"),
    path("<int:pk>/secret/", page_views.secret, name="secret"),
    path("<int:pk>/test/", page_views.test_event, name="test_event"),
]
