"""Admin for marketers and operators: sources (keys shown once), the inbox, events, profiles."""

from django import forms
from django.contrib import admin, messages

from .connectors.services import connector_config_problems, connector_config_set
from .models import (
    ComputedTrait,
    Event,
    Group,
    Identity,
    IngestBatch,
    IngestError,
    Profile,
    ProfileMerge,
    Source,
)
from .sources.services import source_create, source_rotate_key, source_update


class SourceAdminForm(forms.ModelForm):
    def clean_connector_config(self):
        config = self.cleaned_data.get("connector_config") or {}
        problems = connector_config_problems(config)
        if problems:
            raise forms.ValidationError(problems)
        return config


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceAdminForm
    list_display = (
        "name",
        "kind",
        "enabled",
        "write_key_prefix",
        "events_accepted",
        "events_rejected",
        "last_event_at",
    )
    list_filter = ("kind", "enabled")
    search_fields = ("name",)
    readonly_fields = (
        "write_key_prefix",
        "events_accepted",
        "events_rejected",
        "last_event_at",
        "key_rotated_at",
        "created_at",
        "updated_at",
    )
    # connector_config: settings of a connector (docs/connectors.md); its secret is set on the source page.
    fields = ("name", "kind", "enabled", "connector_config", *readonly_fields)
    actions = ("rotate_keys",)

    def save_model(self, request, obj, form, change):
        config = form.cleaned_data.get("connector_config") or {}
        if change:
            source_update(source=obj, name=obj.name, kind=obj.kind, enabled=obj.enabled)
            connector_config_set(source=obj, config=config)
            return
        source, write_key = source_create(name=obj.name, kind=obj.kind)
        connector_config_set(source=source, config=config)
        obj.pk = source.pk
        obj.refresh_from_db()
        if not form.cleaned_data.get("enabled", True):
            obj.enabled = False
            obj.save(update_fields=["enabled"])
        messages.warning(request, f"Write key for {source.name}: {write_key} (copy it now, it is shown once)")

    @admin.action(description="Rotate the write key (the old key stops working)")
    def rotate_keys(self, request, queryset):
        for source in queryset:
            key = source_rotate_key(source=source)
            messages.warning(request, f"New write key for {source.name}: {key} (copy it now)")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IngestBatch)
class IngestBatchAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "source",
        "kind",
        "event_count",
        "accepted_count",
        "rejected_count",
        "received_at",
        "processed_at",
    )
    list_filter = ("kind", "source", ("processed_at", admin.EmptyFieldListFilter))
    list_select_related = ("source",)
    date_hierarchy = "received_at"


@admin.register(IngestError)
class IngestErrorAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "source", "batch", "position", "message_id", "reason")
    list_filter = ("source",)
    list_select_related = ("source",)
    raw_id_fields = ("batch",)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("timestamp", "type", "name", "source", "user_id", "anonymous_id", "profile", "message_id")
    list_filter = ("type", "source")
    list_select_related = ("source",)
    search_fields = ("=message_id", "=user_id", "=anonymous_id", "name")
    raw_id_fields = ("batch", "profile")
    show_full_result_count = False


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0
    readonly_fields = ("kind", "value", "created_at")
    can_delete = False


@admin.register(Profile)
class ProfileAdmin(ReadOnlyAdmin):
    list_display = ("id", "__str__", "first_seen", "last_seen")
    search_fields = ("identities__value",)
    inlines = (IdentityInline,)


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ("kind", "value", "profile_id", "created_at")
    list_filter = ("kind",)
    search_fields = ("=value",)
    raw_id_fields = ("profile",)


@admin.register(ProfileMerge)
class ProfileMergeAdmin(ReadOnlyAdmin):
    """The merge ledger; unmerge from the profile page (/cdp/profiles/<id>/)."""

    list_display = ("created_at", "kind", "merged_id", "survivor_id", "rule", "identifier", "reason")
    list_filter = ("kind", "rule")
    search_fields = ("identifier", "message_id")
    raw_id_fields = ("survivor", "merged", "undone_by")


@admin.register(ComputedTrait)
class ComputedTraitAdmin(admin.ModelAdmin):
    """Marketers define computed traits here; values refresh with each batch and by `computed_traits_recompute`."""

    list_display = ("key", "label", "aggregation", "event_name", "property", "window_days", "enabled")
    list_filter = ("aggregation", "enabled")
    search_fields = ("key", "label", "event_name")
    actions = ("recompute",)

    @admin.action(description="Recompute values for every profile now")
    def recompute(self, request, queryset):
        from .unify.computed import computed_recompute_all

        done = computed_recompute_all()
        messages.success(request, f"Computed traits recomputed for {done} profiles.")


@admin.register(Group)
class GroupAdmin(ReadOnlyAdmin):
    list_display = ("group_id", "__str__", "company", "updated_at")
    search_fields = ("group_id",)
