"""Admin for marketers: the journey builder (next to the segment builder, same rule language), versions,
enrolments and their paths."""

import json

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .definition import (
    CONTACT_FIELDS,
    CRM_CHANGES,
    SETTABLE_FIELDS,
    STEP_TYPES,
    TRIGGER_TYPES,
    DefinitionError,
)
from .models import Enrolment, Journey, JourneyVersion, StepLog

PICKER_LIMIT = 500


def builder_choices(journey_id: int | None) -> dict:
    from ..audiences.models import AudienceDestination
    from ..models import Segment
    from ..webhooks.models import Endpoint
    from .mail import mailbox_choices, template_choices

    return {
        "step_types": [[k, v[0]] for k, v in STEP_TYPES.items()],
        "trigger_types": list(TRIGGER_TYPES.items()),
        "crm_changes": [[k, v[0]] for k, v in CRM_CHANGES.items()],
        "contact_fields": [[f, f.replace("_", " ")] for f in CONTACT_FIELDS],
        "settable_fields": [[f, f.replace("_", " ")] for f in SETTABLE_FIELDS],
        "segments": list(Segment.objects.order_by("name").values_list("pk", "name")[:PICKER_LIMIT]),
        "journeys": list(
            Journey.objects.exclude(pk=journey_id).order_by("name").values_list("pk", "name")[:PICKER_LIMIT]
        ),
        "endpoints": list(Endpoint.objects.order_by("name").values_list("pk", "name")[:PICKER_LIMIT]),
        "destinations": list(
            AudienceDestination.objects.order_by("name").values_list("pk", "name")[:PICKER_LIMIT]
        ),
        "templates": template_choices(limit=PICKER_LIMIT),
        "mailboxes": mailbox_choices(limit=PICKER_LIMIT),
    }


class JourneyBuilderWidget(forms.Widget):
    template_name = "journeys/admin/journey_builder_widget.html"

    class Media:
        css = {"all": ["segments/rule_builder.css", "journeys/journey_builder.css"]}
        js = ["segments/rule_builder.js", "journeys/journey_builder.js"]

    def __init__(self, journey_id: int | None = None, attrs=None):
        super().__init__(attrs)
        self.journey_id = journey_id

    def format_value(self, value):
        if value in (None, ""):
            return json.dumps({"trigger": {"type": "event", "event": ""}, "steps": []})
        return value if isinstance(value, str) else json.dumps(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            suggestions_url=reverse("segments:builder_suggestions"),
            preview_url=reverse("segments:builder_preview"),
            choices=builder_choices(self.journey_id),
            choices_id=f"{context['widget']['attrs'].get('id', name)}-choices",
        )
        return context

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class JourneyAdminForm(forms.ModelForm):
    definition = forms.JSONField(widget=JourneyBuilderWidget, help_text="")
    publish = forms.BooleanField(
        required=False,
        label="Publish now",
        help_text="Make this definition the live version (a draft goes live; a live journey always publishes "
        "its changes, and running profiles finish on their version).",
    )

    class Meta:
        model = Journey
        fields = ["name", "description", "reenrol", "reenrol_days", "definition"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["definition"].widget = JourneyBuilderWidget(journey_id=self.instance.pk)

    def clean_definition(self):
        from .definition import definition_validate

        definition = self.cleaned_data["definition"]
        try:
            definition_validate(definition=definition, lookups=services.definition_lookups(self.instance))
        except DefinitionError as error:
            raise forms.ValidationError(error.messages) from None
        return definition


class JourneyVersionInline(admin.TabularInline):
    model = JourneyVersion
    extra = 0
    fields = ["number", "published_at", "published_by"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin):
    form = JourneyAdminForm
    list_display = ["name", "status", "version_number", "updated_at"]
    list_filter = ["status"]
    search_fields = ["name", "description"]
    readonly_fields = ["status", "version_number", "page_link"]
    inlines = [JourneyVersionInline]
    actions = ["publish", "pause", "resume"]
    fieldsets = [
        (None, {"fields": ["name", "description", ("status", "version_number", "page_link")]}),
        ("Who enters", {"fields": [("reenrol", "reenrol_days")]}),
        ("Journey", {"fields": ["definition", "publish"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("live_version")

    @admin.display(description="Live version")
    def version_number(self, journey: Journey) -> str:
        return f"v{journey.live_version.number}" if journey.live_version_id else "—"

    @admin.display(description="Journey page")
    def page_link(self, journey: Journey) -> str:
        if not journey.pk:
            return "—"
        return format_html('<a href="{}">Open the journey page</a>', journey.get_absolute_url())

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        journey = services.journey_save(
            user=request.user,
            journey=obj,
            name=data["name"],
            definition=data["definition"],
            description=data.get("description", ""),
            reenrol=data.get("reenrol", Journey.Reenrol.ONCE),
            reenrol_days=data.get("reenrol_days") or 30,
        )
        if data.get("publish") and journey.status == Journey.Status.DRAFT:
            services.journey_publish(journey=journey, user=request.user)

    def _each(self, request, queryset, change, verb):
        done = 0
        for journey in queryset:
            try:
                change(journey=journey, user=request.user)
                done += 1
            except DefinitionError as error:
                messages.error(request, f"{journey.name}: {' '.join(error.messages)}")
        if done:
            messages.success(request, f"{done} journey(s) {verb}.")

    @admin.action(description="Publish the selected journeys (new version, live)", permissions=["change"])
    def publish(self, request, queryset):
        self._each(request, queryset, services.journey_publish, "published")

    @admin.action(description="Pause the selected journeys (hold their profiles)", permissions=["change"])
    def pause(self, request, queryset):
        self._each(request, queryset, services.journey_pause, "paused")

    @admin.action(description="Resume the selected journeys", permissions=["change"])
    def resume(self, request, queryset):
        self._each(request, queryset, services.journey_resume, "resumed")


class StepLogInline(admin.TabularInline):
    model = StepLog
    extra = 0
    fields = ["sequence", "at", "step", "kind", "summary"]
    readonly_fields = fields
    can_delete = False
    ordering = ["sequence"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ["profile_id", "journey", "version", "state", "step", "due_at", "entered_at"]
    list_filter = ["state", "journey"]
    list_select_related = ["journey", "version"]
    raw_id_fields = ["profile"]
    readonly_fields = [f.name for f in Enrolment._meta.fields]
    inlines = [StepLogInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
