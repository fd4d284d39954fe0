"""Pages of the CRM core, mounted at "/"."""

from django.urls import path

from . import views

app_name = "contacts"
urlpatterns = [
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/export.csv", views.contact_export, name="contact_export"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact_delete"),
    path("contacts/<int:pk>/facts/", views.contact_facts, name="contact_facts"),
    path("contacts/<int:pk>/activities/", views.contact_activity_create, name="contact_activity_create"),
    path("contacts/<int:pk>/activities/older/", views.contact_activity_feed, name="contact_activity_feed"),
    path("contacts/<int:pk>/tasks/", views.contact_task_create, name="contact_task_create"),
    path("contacts/<int:pk>/loyalty/<slug:action>/", views.contact_loyalty, name="contact_loyalty"),
    path("companies/", views.company_list, name="company_list"),
    path("companies/new/", views.company_create, name="company_create"),
    path("companies/<int:pk>/", views.company_detail, name="company_detail"),
    path("companies/<int:pk>/edit/", views.company_edit, name="company_edit"),
    path("companies/<int:pk>/delete/", views.company_delete, name="company_delete"),
    path("companies/<int:pk>/activities/", views.company_activity_create, name="company_activity_create"),
    path("companies/<int:pk>/activities/older/", views.company_activity_feed, name="company_activity_feed"),
    path("companies/<int:pk>/tasks/", views.company_task_create, name="company_task_create"),
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/<int:pk>/toggle/", views.task_toggle, name="task_toggle"),
    path("reports/lifecycle/", views.lifecycle_report, name="lifecycle_report"),
]
