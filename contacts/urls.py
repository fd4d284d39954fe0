"""Pages of the CRM core, mounted at "/"."""

from django.urls import path

from .lists import views as list_views
from .views import (
    activities,
    companies,
    company_list,
    contact_list,
    contacts,
    loyalty,
    pickers,
    reports,
    tasks,
)

app_name = "contacts"
urlpatterns = [
    path("contacts/", contact_list.contact_list, name="contact_list"),
    path("contacts/bulk/", contact_list.contact_bulk, name="contact_bulk"),
    path("contacts/pick/", pickers.contact_pick, name="contact_pick"),
    path("companies/pick/", pickers.company_pick, name="company_pick"),
    path("owners/pick/", pickers.owner_pick, name="owner_pick"),
    path("contacts/export.csv", contact_list.contact_export, name="contact_export"),
    path("contacts/new/", contacts.contact_create, name="contact_create"),
    path("contacts/<int:pk>/", contacts.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", contacts.contact_delete, name="contact_delete"),
    path("contacts/<int:pk>/facts/", contacts.contact_facts, name="contact_facts"),
    path("contacts/<int:pk>/activities/", activities.contact_activity_create, name="contact_activity_create"),
    path(
        "contacts/<int:pk>/activities/older/", activities.contact_activity_feed, name="contact_activity_feed"
    ),
    path("contacts/<int:pk>/tasks/", tasks.contact_task_create, name="contact_task_create"),
    path("contacts/<int:pk>/loyalty/<slug:action>/", loyalty.contact_loyalty, name="contact_loyalty"),
    path("companies/", company_list.company_list, name="company_list"),
    path("companies/export.csv", company_list.company_export, name="company_export"),
    path("companies/bulk/", company_list.company_bulk, name="company_bulk"),
    path("companies/new/", companies.company_create, name="company_create"),
    path("companies/<int:pk>/", companies.company_detail, name="company_detail"),
    path("companies/<int:pk>/edit/", companies.company_edit, name="company_edit"),
    path("companies/<int:pk>/delete/", companies.company_delete, name="company_delete"),
    path(
        "companies/<int:pk>/activities/", activities.company_activity_create, name="company_activity_create"
    ),
    path(
        "companies/<int:pk>/activities/older/", activities.company_activity_feed, name="company_activity_feed"
    ),
    path("companies/<int:pk>/tasks/", tasks.company_task_create, name="company_task_create"),
    path("tasks/", tasks.task_list, name="task_list"),
    path("tasks/<int:pk>/toggle/", tasks.task_toggle, name="task_toggle"),
    path("reports/lifecycle/", reports.lifecycle_report, name="lifecycle_report"),
    path("views/save/", list_views.saved_view_save, name="saved_view_save"),
    path("views/<int:pk>/update/", list_views.saved_view_update, name="saved_view_update"),
    path("views/<int:pk>/delete/", list_views.saved_view_delete, name="saved_view_delete"),
]
