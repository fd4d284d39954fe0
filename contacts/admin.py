"""Django admin for the CRM core. Loyalty balances are read-only here: the ledger services own them."""

from django.contrib import admin

from .models import Activity, Company, Contact, LoyaltyAccount, LoyaltyNote, RecentView, Tag, Task


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color"]
    search_fields = ["name"]


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ["first_name", "last_name", "email", "lifecycle_stage", "owner"]
    extra = 0
    show_change_link = True
    raw_id_fields = ["owner"]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "industry", "size", "owner", "updated_at"]
    list_filter = ["industry", "size", "owner"]
    search_fields = ["name", "domain"]
    raw_id_fields = ["owner"]
    date_hierarchy = "created_at"
    list_select_related = ["owner"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "phone", "company", "owner", "lifecycle_stage", "updated_at"]
    list_filter = ["lifecycle_stage", "owner", "tags", "lead_source"]
    search_fields = ["first_name", "last_name", "email", "company__name"]
    raw_id_fields = ["company", "owner"]
    filter_horizontal = ["tags"]
    date_hierarchy = "created_at"
    list_select_related = ["company", "owner"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "direction", "contact", "company", "author", "occurred_at"]
    list_filter = ["kind", "direction", "author"]
    search_fields = ["subject", "body", "contact__email", "company__name"]
    raw_id_fields = ["contact", "company", "author"]
    date_hierarchy = "occurred_at"
    list_select_related = ["contact", "company", "author"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "assignee", "contact", "company", "due_at", "done_at"]
    list_filter = [("done_at", admin.EmptyFieldListFilter), "assignee"]
    search_fields = ["title", "notes", "contact__email"]
    raw_id_fields = ["contact", "company", "assignee", "created_by"]
    date_hierarchy = "due_at"
    list_select_related = ["contact", "company", "assignee"]


class LoyaltyNoteInline(admin.TabularInline):
    model = LoyaltyNote
    fields = ["created_at", "kind", "points_delta", "tier_from", "tier_to", "text", "author"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(admin.ModelAdmin):
    list_display = ["contact", "program", "tier", "points_balance", "member_since"]
    list_filter = ["tier", "program"]
    search_fields = ["contact__first_name", "contact__last_name", "contact__email"]
    raw_id_fields = ["contact"]
    readonly_fields = ["points_balance", "tier"]
    inlines = [LoyaltyNoteInline]
    list_select_related = ["contact"]


@admin.register(LoyaltyNote)
class LoyaltyNoteAdmin(admin.ModelAdmin):
    """Read-only: ledger entries are written through the loyalty services only."""

    list_display = ["account", "kind", "points_delta", "tier_to", "author", "created_at"]
    list_filter = ["kind"]
    search_fields = ["text", "account__contact__email"]
    date_hierarchy = "created_at"
    list_select_related = ["account__contact", "author"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RecentView)
class RecentViewAdmin(admin.ModelAdmin):
    list_display = ["user", "contact", "viewed_at"]
    list_filter = ["user"]
    raw_id_fields = ["user", "contact"]
    list_select_related = ["user", "contact"]
