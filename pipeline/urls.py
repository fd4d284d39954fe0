from django.urls import path

from . import views

app_name = "pipeline"
urlpatterns = [
    path("", views.board, name="board"),
    path("list/", views.deal_list, name="deal_list"),
    path("new/", views.deal_new, name="deal_new"),
    path("forecast/", views.forecast, name="forecast"),
    path("win-rates/", views.win_rate_report, name="win_rates"),
    path("quick-create/companies/", views.quick_create_options, name="quick_create_options"),
    path("stages/<int:stage_pk>/quick-create/", views.deal_quick_create, name="deal_quick_create"),
    path("<int:pk>/", views.deal_detail, name="deal_detail"),
    path("<int:pk>/edit/", views.deal_edit, name="deal_edit"),
    path("<int:pk>/fields/", views.deal_fields, name="deal_fields"),
    path("<int:pk>/move/", views.deal_move, name="deal_move"),
    path("<int:pk>/stage/", views.deal_stage_set, name="deal_stage_set"),
    path("<int:pk>/delete/", views.deal_delete, name="deal_delete"),
    path("<int:pk>/activities/", views.deal_activity_create, name="deal_activity_create"),
    path("<int:pk>/tasks/", views.deal_task_create, name="deal_task_create"),
    path("<int:pk>/tasks/<int:task_pk>/complete/", views.deal_task_complete, name="deal_task_complete"),
    path("contact/<int:contact_pk>/", views.contact_deals, name="contact_deals"),
    path("company/<int:company_pk>/", views.company_deals, name="company_deals"),
]
