from django.urls import path

from . import pickers, queue_views, views

app_name = "tickets"
urlpatterns = [
    path("", queue_views.queue, name="queue"),
    path("new/", views.ticket_create, name="ticket_create"),
    path("bulk/", queue_views.queue_bulk, name="queue_bulk"),
    path("metrics/", views.metrics, name="metrics"),
    path("pick/", pickers.ticket_pick, name="ticket_pick"),
    path("agents/pick/", pickers.agent_pick, name="agent_pick"),
    path("<int:pk>/", views.ticket_detail, name="ticket_detail"),
    path("<int:pk>/reply/", views.ticket_reply, name="ticket_reply"),
    path("<int:pk>/reply/template/", views.ticket_reply_template, name="ticket_reply_template"),
    path("<int:pk>/update/", views.ticket_update, name="ticket_update"),
    path("contact/<int:pk>/", views.contact_tickets, name="contact_tickets"),
    path("company/<int:pk>/", views.company_tickets, name="company_tickets"),
]
