"""CDP pages under /cdp/; /cdp/analytics/ is the public 'CDN' analytics.js loads itself from."""

from django.urls import path

from .sources import views as source_views
from .unify import views as profile_views

app_name = "profiles"
urlpatterns = [
    path("sources/", source_views.source_list, name="source_list"),
    path("profiles/", profile_views.profile_list, name="profile_list"),
    path("profiles/<int:pk>/", profile_views.profile_detail, name="profile_detail"),
    path("profiles/<int:pk>/timeline/", profile_views.profile_timeline, name="profile_timeline"),
    path(
        "profiles/<int:pk>/unmerge/<int:merge_pk>/",
        profile_views.profile_unmerge_view,
        name="profile_unmerge",
    ),
    path("contacts/<int:pk>/timeline/", profile_views.contact_timeline, name="contact_timeline"),
    path("contacts/<int:pk>/cdp/", profile_views.contact_cdp, name="contact_cdp"),
    path(
        "contacts/<int:pk>/customer/", profile_views.contact_customer_context, name="contact_customer_context"
    ),
    path("companies/<int:pk>/cdp/", profile_views.company_cdp, name="company_cdp"),
    path("sources/new/", source_views.source_create, name="source_create"),
    path("sources/<int:pk>/", source_views.source_detail, name="source_detail"),
    path("sources/<int:pk>/rotate/", source_views.source_rotate, name="source_rotate"),
    path("sources/<int:pk>/toggle/", source_views.source_toggle, name="source_toggle"),
    path("sources/<int:pk>/csv/", source_views.source_csv, name="source_csv"),
    path(
        "analytics/analytics.js/v1/<str:write_key>/analytics.min.js",
        source_views.analytics_script,
        name="analytics_script",
    ),
    path(
        "analytics/analytics-next/bundles/<str:name>", source_views.analytics_bundle, name="analytics_bundle"
    ),
    path(
        "analytics/v1/projects/<str:write_key>/settings",
        source_views.analytics_cdn_settings,
        name="analytics_settings",
    ),
]
