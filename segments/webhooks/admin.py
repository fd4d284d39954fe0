"""Admin (Admin role) for webhook subscriptions with secret rotation, the delivery log with replay, and the
hosts outbound requests may reach despite resolving to private or loopback addresses."""

from django import forms
from django.contrib import admin, messages

from . import services
from .models import TOPICS, AllowedHost, Endpoint, WebhookDelivery


class EndpointForm(forms.ModelForm):
    topics = forms.MultipleChoiceField(
        choices=[
            ("*", "Everything"),
            *[(f"{g}.*", f"All {g} changes") for g in ("contact", "company", "deal", "ticket")],
            *TOPICS.items(),
        ],
        widget=forms.CheckboxSelectMultiple,
    )

    url = forms.URLField(max_length=500, assume_scheme="https")

    class Meta:
        model = Endpoint
        fields = ["name", "url", "topics", "enabled"]


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["name", "url", "enabled", "topic_list"]
    readonly_fields = ["secret", "previous_secret_expires_at", "created_at"]
    actions = ["rotate_secret"]

    @admin.display(description="Topics")
    def topic_list(self, endpoint: Endpoint) -> str:
        return ", ".join(endpoint.topics)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        services.endpoint_save(
            endpoint=obj,
            name=data["name"],
            url=data["url"],
            topics=data["topics"],
            enabled=data["enabled"],
            user=request.user,
        )

    def delete_model(self, request, obj):
        obj.delete()
        services.endpoints_changed()

    @admin.action(
        description="Rotate the secret (the old one keeps signing for 24 hours)", permissions=["change"]
    )
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_secret_rotate(endpoint=endpoint)
        messages.success(request, f"{queryset.count()} secret(s) rotated.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "endpoint",
        "topic",
        "object_key",
        "sequence",
        "status",
        "attempts",
        "response_code",
        "status_line",
    ]
    list_filter = ["status", "endpoint", "event__topic"]
    list_select_related = ["endpoint", "event"]
    search_fields = ["object_key"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields] + ["payload"]
    actions = ["replay"]
    show_full_result_count = False

    @admin.display(description="Topic")
    def topic(self, delivery: WebhookDelivery) -> str:
        return delivery.event.topic

    @admin.display(description="Payload")
    def payload(self, delivery: WebhookDelivery):
        return delivery.event.payload

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay the selected deliveries", permissions=["change"])
    def replay(self, request, queryset):
        for delivery in queryset:
            services.delivery_replay(delivery=delivery, user=request.user)
        messages.success(request, f"{queryset.count()} delivery(ies) queued again.")


@admin.register(AllowedHost)
class AllowedHostAdmin(admin.ModelAdmin):
    list_display = ["host", "note", "created_at"]
