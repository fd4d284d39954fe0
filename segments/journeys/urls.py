from django.urls import path

from . import views

app_name = "journeys"
urlpatterns = [
    path("", views.journey_list, name="journey_list"),
    path("<int:pk>/", views.journey_detail, name="journey_detail"),
    path("profile/<int:pk>/", views.profile_journeys, name="profile_journeys"),
    path("contact/<int:pk>/", views.contact_journeys, name="contact_journeys"),
]
