"""Pages of mailboxes and e-mail on records, mounted at /mail/ (tracking and unsubscribe are public)."""

from django.urls import path

from . import record_views, tracking_views, unsubscribe_views, views

app_name = "mail"
urlpatterns = [
    path("mailboxes/", views.mailbox_list, name="mailbox_list"),
    path("mailboxes/new/", views.mailbox_create, name="mailbox_create"),
    path("mailboxes/<int:pk>/", views.mailbox_detail, name="mailbox_detail"),
    path("mailboxes/<int:pk>/edit/", views.mailbox_edit, name="mailbox_edit"),
    path("mailboxes/<int:pk>/check/", views.mailbox_check, name="mailbox_check"),
    path("mailboxes/<int:pk>/pause/", views.mailbox_pause, name="mailbox_pause"),
    path("mailboxes/<int:pk>/sync/", views.mailbox_sync_now, name="mailbox_sync_now"),
    path("mailboxes/<int:pk>/delete/", views.mailbox_delete, name="mailbox_delete"),
    path("signature/", views.signature_save, name="signature_save"),
    path("compose/", record_views.compose, name="compose"),
    path("compose/template/", record_views.compose_template, name="compose_template"),
    path("contacts/<int:pk>/", record_views.contact_panel, name="contact_panel"),
    path("companies/<int:pk>/", record_views.company_panel, name="company_panel"),
    path("deals/<int:pk>/", record_views.deal_panel, name="deal_panel"),
    path("messages/<int:pk>/", record_views.message_detail, name="message_detail"),
    path("attachments/<int:pk>/", record_views.attachment_download, name="attachment_download"),
    path("o/<str:token>.gif", tracking_views.track_open, name="track_open"),
    path("c/<str:token>/", tracking_views.track_click, name="track_click"),
    path("u/<str:token>/", unsubscribe_views.unsubscribe, name="unsubscribe"),
]
