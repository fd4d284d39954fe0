"""CDP pages under /cdp/; /cdp/analytics/ is the public 'CDN' analytics.js loads itself from."""

from django.urls import path

from . import views

app_name = "profiles"
urlpatterns = [
    path("sources/", views.source_list, name="source_list"),
    path("sources/new/", views.source_create, name="source_create"),
    path("sources/<int:pk>/", views.source_detail, name="source_detail"),
    path("sources/<int:pk>/rotate/", views.source_rotate, name="source_rotate"),
    path("sources/<int:pk>/toggle/", views.source_toggle, name="source_toggle"),
    path("sources/<int:pk>/csv/", views.source_csv, name="source_csv"),
    path(
        "analytics/analytics.js/v1/<str:write_key>/analytics.min.js",
        views.analytics_script,
        name="analytics_script",
    ),
    path("analytics/analytics-next/bundles/<str:name>", views.analytics_bundle, name="analytics_bundle"),
    path(
        "analytics/v1/projects/<str:write_key>/settings",
        views.analytics_cdn_settings,
        name="analytics_settings",
    ),
]
