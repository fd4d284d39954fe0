"""Top-level URLs. Each app mounts its pages under its prefix and its API under /api/."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from profiles.tracking.urls import root_urlpatterns as tracking_root_urlpatterns
from profiles.unify.segment_api import profile_api as segment_profile_api

from . import account, views
from .api import router

handler500 = "cdpcrm.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("search/", views.search, name="search"),
    path("reports/", views.reports, name="reports"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(template_name="registration/password_change.html"),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="registration/password_change_done.html"),
        name="password_change_done",
    ),
    path("accounts/api-tokens/", account.api_tokens, name="api_tokens"),
    path("accounts/api-tokens/<int:pk>/revoke/", account.api_token_revoke_view, name="api_token_revoke"),
    path("admin/", admin.site.urls),
    path("", include("contacts.urls")),
    path("mail/", include("contacts.mail.urls")),
    path("deals/", include("pipeline.urls")),
    path("tickets/", include("tickets.urls")),
    path("cdp/connectors/", include("profiles.connectors.page_urls")),
    path("cdp/", include("profiles.urls")),
    path("segments/", include("segments.urls")),
    path(
        "v1/spaces/<str:space_id>/collections/users/profiles/<str:external_id>/<str:route>",
        segment_profile_api,
        name="segment_profile_api",
    ),
    path("journeys/", include("segments.journeys.urls")),
    path("v1/webhooks/", include("profiles.connectors.urls")),
    path("v1/", include("profiles.tracking.urls")),
    *tracking_root_urlpatterns,
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("api/", include(router.urls)),
]
