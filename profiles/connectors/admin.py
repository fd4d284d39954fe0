"""Admin for operators: the webhook delivery log (read-only) and the open checkouts."""

from django.contrib import admin

from .models import OpenCheckout, WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("received_at", "source", "topic", "status", "event_count", "reason", "test")
    list_filter = ("status", "test", "source")
    search_fields = ("external_id", "topic")
    list_select_related = ("source",)
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OpenCheckout)
class OpenCheckoutAdmin(admin.ModelAdmin):
    list_display = ("token", "source", "updated_at", "completed_at", "abandoned_at")
    list_filter = ("source",)
    search_fields = ("token",)
    list_select_related = ("source",)
    readonly_fields = ("source", "token", "call", "updated_at", "completed_at", "abandoned_at")

    def has_add_permission(self, request):
        return False
