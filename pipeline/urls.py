"""Deal pages, mounted at /deals/."""

from django.urls import path

from .views import board, deals, detail, new, panels, pickers, reports

app_name = "pipeline"
urlpatterns = [
    path("", board.board, name="board"),
    path("list/", deals.deal_list, name="deal_list"),
    path("list/bulk/", deals.deal_bulk, name="deal_bulk"),
    path("new/", new.deal_new, name="deal_new"),
    path("forecast/", reports.forecast, name="forecast"),
    path("win-rates/", reports.win_rate_report, name="win_rates"),
    path("pick/", pickers.deal_pick, name="deal_pick"),
    path("owners/pick/", pickers.owner_pick, name="owner_pick"),
    path("stages/<int:stage_pk>/quick-create/", board.deal_quick_create, name="deal_quick_create"),
    path("stages/<int:stage_pk>/cards/", board.stage_cards, name="stage_cards"),
    path("<int:pk>/", detail.deal_detail, name="deal_detail"),
    path("<int:pk>/edit/", detail.deal_edit, name="deal_edit"),
    path("<int:pk>/fields/", detail.deal_fields, name="deal_fields"),
    path("<int:pk>/move/", board.deal_move, name="deal_move"),
    path("<int:pk>/stage/", detail.deal_stage_set, name="deal_stage_set"),
    path("<int:pk>/delete/", detail.deal_delete, name="deal_delete"),
    path("<int:pk>/activities/", detail.deal_activity_create, name="deal_activity_create"),
    path("<int:pk>/tasks/", detail.deal_task_create, name="deal_task_create"),
    path("<int:pk>/tasks/<int:task_pk>/complete/", detail.deal_task_complete, name="deal_task_complete"),
    path("contact/<int:contact_pk>/", panels.contact_deals, name="contact_deals"),
    path("company/<int:company_pk>/", panels.company_deals, name="company_deals"),
]
