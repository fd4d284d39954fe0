from django.contrib import admin

from .models import SlaPolicy, Team, Ticket, TicketEvent, TicketMessage


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("priority", "first_response_minutes", "resolution_minutes", "updated_at")
    list_editable = ("first_response_minutes", "resolution_minutes")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "description")
    search_fields = ("name",)


class TicketMessageInline(admin.TabularInline):
    model = TicketMessage
    extra = 0
    fields = ("created_at", "internal", "author_user", "author_contact", "body", "email_message_id")
    readonly_fields = fields
    can_delete = False


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    fields = ("created_at", "actor", "field", "from_value", "to_value")
    readonly_fields = fields
    can_delete = False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Read-mostly: status, priority and assignee change through the ticket page so the SLA clock and
    the audit trail stay right."""

    list_display = ("id", "subject", "contact", "status", "priority", "assignee", "team", "created_at")
    list_filter = ("status", "priority", "channel", "team")
    search_fields = ("subject", "contact__email", "contact__last_name")
    list_select_related = ("contact", "assignee", "team")
    raw_id_fields = ("contact", "company", "assignee", "created_by")
    readonly_fields = (
        "status",
        "priority",
        "assignee",
        "first_responded_at",
        "solved_at",
        "first_response_due_at",
        "resolution_due_at",
        "paused_at",
        "paused_seconds",
        "created_at",
    )
    inlines = [TicketMessageInline, TicketEventInline]
