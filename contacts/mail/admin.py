"""Admin: e-mail templates (admin-managed, merge fields checked on save), a read-only mailbox list, and the
unsubscribe list (staff may add an address; deleting a row subscribes it again)."""

from django import forms
from django.contrib import admin
from django.core.validators import validate_email
from django.utils.html import format_html_join

from .forms import EmailTemplateAdminForm
from .models import EmailTemplate, Mailbox, Unsubscribe
from .registry import users_of
from .render import merge_fields


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    form = EmailTemplateAdminForm
    list_display = ("name", "subject", "is_active", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name", "subject")
    readonly_fields = ("available_merge_fields",)
    fields = ("name", "subject", "body", "is_active", "available_merge_fields")

    def get_deleted_objects(self, objs, request):
        """A template that something sends (a journey's e-mail step) is protected: Django refuses the
        deletion and names what to change first."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for template in objs:
            protected += [
                f"{user}, which sends “{template.name}”" for user in users_of("template", template.pk)
            ]
        return deleted, counts, perms_needed, protected

    @admin.display(description="Merge fields")
    def available_merge_fields(self, obj=None):
        return format_html_join(", ", "<code>{{{{ {} }}}}</code>", ((f,) for f in merge_fields()))


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    """Mailboxes are connected on their own pages; here they are listed (passwords never shown)."""

    list_display = (
        "name",
        "email_address",
        "purpose",
        "owner",
        "paused",
        "is_demo",
        "last_success_at",
        "last_error",
    )
    list_filter = ("purpose", "paused", "is_demo")
    search_fields = ("name", "email_address")
    exclude = ("imap_password", "smtp_password")
    readonly_fields = ("last_polled_at", "last_success_at", "last_error", "last_error_at", "failure_count")

    def has_add_permission(self, request):
        return False


class UnsubscribeAdminForm(forms.ModelForm):
    class Meta:
        model = Unsubscribe
        fields = ("email", "contact", "source")

    def clean_email(self):
        address = self.cleaned_data["email"].strip().lower()
        validate_email(address)
        return address


@admin.register(Unsubscribe)
class UnsubscribeAdmin(admin.ModelAdmin):
    """Addresses that get no automated (journey) e-mail; the link and one-click header of a journey e-mail
    add rows, staff may add one by hand (an opt-out by phone or letter)."""

    list_display = ("email", "contact", "source", "created_at")
    list_filter = ("source",)
    search_fields = ("email",)
    raw_id_fields = ("contact",)
    readonly_fields = ("message", "created_at")
    fields = ("email", "contact", "source", "message", "created_at")

    form = UnsubscribeAdminForm
