"""Admin for pipelines and stages (configuration) and deals; deal saves go through the services."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, ProtectedError

from . import services
from .models import CurrencySettings, Deal, DealStageChange, ExchangeRate, Pipeline, Stage
from .selectors import base_currency


class StageInline(admin.TabularInline):
    model = Stage
    extra = 1
    fields = ["position", "name", "probability", "kind"]
    ordering = ["position", "id"]


class PipelineAdminForm(forms.ModelForm):
    class Meta:
        model = Pipeline
        fields = ["name", "is_default"]

    def _get_validation_exclusions(self):
        # Ticking "default" moves the flag from the current default (pipeline_save) rather than failing.
        return {*super()._get_validation_exclusions(), "is_default"}


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    form = PipelineAdminForm
    list_display = ["name", "is_default", "stage_count"]
    inlines = [StageInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(stage_total=Count("stages"))

    @admin.display(description="Stages", ordering="stage_total")
    def stage_count(self, obj) -> int:
        return obj.stage_total

    def save_model(self, request, obj, form, change):
        services.pipeline_save(pipeline=obj)


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "pipeline", "position", "probability", "kind", "deal_count"]
    list_filter = ["pipeline", "kind"]
    ordering = ["pipeline", "position"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("pipeline").annotate(deal_total=Count("deals"))

    @admin.display(description="Deals", ordering="deal_total")
    def deal_count(self, obj) -> int:
        return obj.deal_total

    def get_readonly_fields(self, request, obj=None):
        return ["pipeline"] if obj is not None else []

    def delete_queryset(self, request, queryset):
        try:
            super().delete_queryset(request, queryset)
        except ProtectedError:
            messages.error(request, "Some of these stages still have deals; move the deals first.")


class DealStageChangeInline(admin.TabularInline):
    model = DealStageChange
    extra = 0
    can_delete = False
    fields = ["changed_at", "from_stage_name", "to_stage_name", "changed_by", "lost_reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ["title", "pipeline", "stage", "amount", "currency", "expected_close_date", "owner"]
    list_filter = ["pipeline", "stage__kind", "currency", "owner"]
    list_select_related = ["pipeline", "stage", "owner"]
    search_fields = ["title", "company__name", "contact__email"]
    raw_id_fields = ["contact", "company"]
    readonly_fields = ["closed_at", "created_at", "updated_at"]
    inlines = [DealStageChangeInline]

    def get_readonly_fields(self, request, obj=None):
        # A deal stays in its pipeline; the stage moves through deal_move.
        return [*self.readonly_fields, "pipeline"] if obj is not None else self.readonly_fields

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        original_clean = form.clean

        def clean(form_self):
            cleaned = original_clean(form_self)
            stage = cleaned.get("stage")
            target = form_self.instance
            if stage is not None and (obj is None or stage.pk != obj.stage_id):
                if obj is None and cleaned.get("pipeline"):
                    target.pipeline = cleaned["pipeline"]
                try:
                    services.deal_move_check(
                        deal=target, stage=stage, lost_reason=cleaned.get("lost_reason", "")
                    )
                except ValidationError as exc:
                    for name, errors in exc.message_dict.items():
                        form_self.add_error(name if name in form_self.fields else None, errors)
            return cleaned

        form.clean = clean
        return form

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data[name]
            for name in services.DEAL_EDITABLE_FIELDS
            if name in form.cleaned_data
        }
        lost_reason = form.cleaned_data.get("lost_reason", "")
        if not change:
            deal = services.deal_create(
                user=request.user,
                stage=form.cleaned_data["stage"],
                pipeline=form.cleaned_data["pipeline"],
                lost_reason=lost_reason,
                **data,
            )
            obj.pk = deal.pk
            obj.refresh_from_db()
            return
        original = Deal.objects.select_related("stage").get(pk=obj.pk)
        services.deal_update(
            deal=original,
            user=request.user,
            stage=form.cleaned_data["stage"],
            lost_reason=lost_reason,
            **data,
        )
        obj.refresh_from_db()


@admin.register(CurrencySettings)
class CurrencySettingsAdmin(admin.ModelAdmin):
    """The company currency: a single row, added once and then changed, never deleted."""

    list_display = ["base_currency", "updated_at"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not CurrencySettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["currency", "base", "rate", "valid_from"]
    list_filter = ["base", "currency"]
    date_hierarchy = "valid_from"
    ordering = ["currency", "-valid_from"]
    search_fields = ["currency"]

    def get_changeform_initial_data(self, request):
        return {"base": base_currency(), **super().get_changeform_initial_data(request)}
