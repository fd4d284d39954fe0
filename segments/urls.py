from django.urls import path

from . import views

app_name = "segments"
urlpatterns = [
    path("", views.segment_list, name="segment_list"),
    path("<int:pk>/", views.segment_detail, name="segment_detail"),
    path("<int:pk>/export.csv", views.segment_export, name="segment_export"),
    path("<int:pk>/recompute/", views.segment_recompute, name="segment_recompute"),
    path("deliveries/<int:pk>/replay/", views.delivery_replay, name="delivery_replay"),
    path("contact/<int:pk>/", views.contact_segments, name="contact_segments"),
    path("contact/<int:pk>/badges/", views.contact_segment_badges, name="contact_segment_badges"),
    path("profile/<int:pk>/", views.profile_segments, name="profile_segments"),
    path("builder/suggestions/", views.builder_suggestions, name="builder_suggestions"),
    path("builder/preview/", views.builder_preview, name="builder_preview"),
]
