"""Admin for marketers: audience destinations (webhook, Mailchimp, Meta) and their sync log."""

from django import forms
from django.contrib import admin, messages

from common import outbound

from . import services
from .models import AudienceDestination, AudienceSync


class AudienceSyncInline(admin.TabularInline):
    model = AudienceSync
    extra = 0
    fields = ["started_at", "adds", "removes", "skipped", "ok", "status_line"]
    readonly_fields = fields
    can_delete = False
    ordering = ["-started_at", "-id"]
    max_num = 0


class AudienceDestinationForm(forms.ModelForm):
    url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Audience webhook: the URL. Mailchimp/Meta: the API base URL (empty: the vendor's).",
    )

    class Meta:
        model = AudienceDestination
        fields = [
            "name",
            "kind",
            "segment",
            "enabled",
            "url",
            "list_id",
            "api_key",
            "secret",
            "field_mapping",
            "batch_size",
        ]

    def clean_url(self):
        url = self.cleaned_data.get("url", "")
        refusal = outbound.url_refusal(url) if url else None
        if refusal:
            raise forms.ValidationError(refusal)
        return url

    def clean_field_mapping(self):
        mapping = self.cleaned_data.get("field_mapping") or {}
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k and v and len(k) <= 100 and len(v) <= 100
            for k, v in mapping.items()
        ):
            raise forms.ValidationError(
                'Write the mapping as {"trait": "FIELD", ...}: names of at most 100 characters.'
            )
        if any("\x00" in k + v or any(0xD800 <= ord(c) <= 0xDFFF for c in k + v) for k, v in mapping.items()):
            raise forms.ValidationError("The mapping contains a character that cannot be stored.")
        return mapping

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == AudienceDestination.Kind.WEBHOOK and not data.get("url"):
            self.add_error("url", "An audience webhook needs the URL that receives the batches.")
        if kind in (AudienceDestination.Kind.MAILCHIMP, AudienceDestination.Kind.META):
            if not data.get("list_id"):
                self.add_error("list_id", "Give the Mailchimp audience id or the Meta custom audience id.")
            if not data.get("api_key"):
                self.add_error("api_key", "Give the Mailchimp API key or the Meta access token.")
        return data


@admin.register(AudienceDestination)
class AudienceDestinationAdmin(admin.ModelAdmin):
    form = AudienceDestinationForm
    list_display = ["name", "kind", "segment", "enabled", "last_status"]
    list_filter = ["kind", "enabled"]
    autocomplete_fields = ["segment"]
    readonly_fields = ["failures", "next_sync_at", "last_status", "created_at"]
    fields = [
        "name",
        "kind",
        "segment",
        "enabled",
        "url",
        "list_id",
        "api_key",
        "secret",
        "field_mapping",
        "batch_size",
        "failures",
        "next_sync_at",
        "last_status",
    ]
    inlines = [AudienceSyncInline]
    actions = ["fill_and_sync"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "segment" in form.changed_data or not change:
            services.destination_segment_fill(destination=obj)

    @admin.action(description="Add the segment's members and sync now", permissions=["change"])
    def fill_and_sync(self, request, queryset):
        for destination in queryset:
            services.destination_segment_fill(destination=destination)
        messages.success(request, f"{queryset.count()} destination(s) queued for a sync.")
