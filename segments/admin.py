"""Admin for marketers: the segment rule builder (no JSON typing), destinations, the delivery log."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from common import outbound

from . import activation, selectors, services
from .hooks import segment_users
from .models import Delivery, Destination, Segment
from .rules import RuleError, rule_sentence, rule_validate


class RuleBuilderWidget(forms.Widget):
    template_name = "segments/admin/rule_builder_widget.html"

    class Media:
        css = {"all": ["segments/rule_builder.css"]}
        js = ["segments/rule_builder.js"]

    def __init__(self, segment_id: int | None = None, attrs=None):
        super().__init__(attrs)
        self.segment_id = segment_id

    def format_value(self, value):
        if value in (None, ""):
            return json.dumps({"all": []})
        return value if isinstance(value, str) else json.dumps(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            suggestions_url=reverse("segments:builder_suggestions"),
            preview_url=reverse("segments:builder_preview"),
            segment_id=self.segment_id or "",
            sentence=self._sentence(value),
        )
        return context

    @staticmethod
    def _sentence(value) -> str:
        try:
            rule = json.loads(value) if isinstance(value, str) else value
            rule_validate(rule=rule)
        except (ValueError, TypeError, RuleError):
            return ""
        names = selectors.segment_names()
        return rule_sentence(rule=rule, segment_name=lambda sid: names.get(sid, f"#{sid}"))

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class SegmentAdminForm(forms.ModelForm):
    rule = forms.JSONField(widget=RuleBuilderWidget, help_text="")

    class Meta:
        model = Segment
        fields = ["name", "description", "rule", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].widget = RuleBuilderWidget(segment_id=self.instance.pk)

    def clean_rule(self):
        rule = self.cleaned_data["rule"]
        try:
            rule_validate(
                rule=rule,
                segment_id=self.instance.pk,
                segment_lookup=lambda sid: (
                    Segment.objects.filter(pk=sid).values_list("rule", flat=True).first()
                ),
            )
        except RuleError as error:
            raise ValidationError(
                [f"{path or 'rule'}: {message}" for path, message in error.errors]
            ) from None
        return rule


class DestinationForm(forms.ModelForm):
    url = forms.URLField(
        required=False, assume_scheme="https", help_text="Webhook: the URL that receives POSTs."
    )

    class Meta:
        model = Destination
        fields = [
            "name",
            "kind",
            "enabled",
            "on_enter",
            "on_exit",
            "url",
            "secret",
            "traits",
            "task_title",
            "task_due_hours",
            "tag_name",
            "tag_action",
        ]

    def clean_url(self):
        url = self.cleaned_data.get("url", "")
        refusal = outbound.url_refusal(url) if url else None
        if refusal:
            raise ValidationError(refusal)
        return url


class DestinationInline(admin.StackedInline):
    model = Destination
    form = DestinationForm
    extra = 0
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fields = [
        ("name", "kind", "enabled"),
        ("on_enter", "on_exit"),
        "url",
        "secret",
        "traits",
        ("task_title", "task_due_hours"),
        ("tag_name", "tag_action"),
    ]


@admin.register(Segment)
class SegmentAdmin(SimpleHistoryAdmin):
    form = SegmentAdminForm
    list_display = ["name", "rule_sentence", "member_count", "is_active", "last_changed_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "description"]
    inlines = [DestinationInline]
    readonly_fields = ["member_count", "last_evaluated_at", "last_changed_at", "page_link"]
    fieldsets = [
        (None, {"fields": ["name", "description", "is_active"]}),
        ("Rule", {"fields": ["rule"]}),
        ("Membership", {"fields": ["member_count", "last_evaluated_at", "last_changed_at", "page_link"]}),
    ]

    @admin.display(description="Rule")
    def rule_sentence(self, segment: Segment) -> str:
        return selectors.sentence_for(segment, getattr(self, "_names", None))

    def get_queryset(self, request):
        self._names = selectors.segment_names()
        return super().get_queryset(request)

    @admin.display(description="Segment page")
    def page_link(self, segment: Segment) -> str:
        if not segment.pk:
            return "—"
        return format_html('<a href="{}">Open the segment page</a>', segment.get_absolute_url())

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        services.segment_save(
            user=request.user,
            segment=obj,
            name=data["name"],
            rule=data["rule"],
            description=data.get("description", ""),
            is_active=data.get("is_active", True),
        )

    def get_deleted_objects(self, objs, request):
        """A segment that another segment's rule or a journey uses is listed as protected: Django then
        refuses the deletion (one or many) and shows which segments and journeys to change first."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        deleting = {segment.pk for segment in objs}
        using = selectors.segments_using(deleting)
        journeys = segment_users(deleting)
        for segment in objs:
            for user in using[segment.pk]:
                if user.pk not in deleting:
                    protected.append(f"Segment “{user.name}”, whose rule uses “{segment.name}”")
            for label in journeys[segment.pk]:
                protected.append(f"{label}, which uses “{segment.name}” (trigger, branch, goal or exit)")
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        services.segment_delete(segment=obj)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "destination",
        "trigger",
        "profile_id",
        "status",
        "attempts",
        "response_code",
    ]
    list_filter = ["status", "trigger", "destination__kind"]
    list_select_related = ["destination"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay the selected deliveries", permissions=["change"])
    def replay(self, request, queryset):
        for delivery in queryset.select_related("destination"):
            activation.delivery_replay(delivery=delivery, user=request.user)
        messages.success(request, f"{queryset.count()} delivery(ies) queued again.")
