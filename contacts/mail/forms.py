"""Forms of the mailbox and compose pages: they parse input; the services validate and write."""

from django import forms
from django.core.exceptions import ValidationError

from common.forms import BootstrapFormMixin

from .models import EmailTemplate, Mailbox, Security
from .registry import MAILBOX_KINDS
from .render import template_check


class ServiceForm(BootstrapFormMixin, forms.Form):
    def add_service_error(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


PASSWORD_HELP_NEW = "For Gmail or Microsoft 365, an app password (see the README)."  # noqa: S105 - help text
PASSWORD_HELP_KEEP = "Saved and encrypted; never shown. Leave blank to keep it."  # noqa: S105 - help text


class MailboxForm(ServiceForm):
    name = forms.CharField(
        max_length=120, help_text="How it is shown, e.g. “Sam's Gmail” or “Support inbox”."
    )
    purpose = forms.ChoiceField(label="Used for")
    team_id = forms.TypedChoiceField(label="Team", coerce=int, required=False, empty_value=None)
    email_address = forms.EmailField(label="E-mail address", max_length=254)
    from_name = forms.CharField(label="Sender name", max_length=120, required=False)
    imap_host = forms.CharField(label="IMAP server", max_length=253)
    imap_port = forms.IntegerField(label="IMAP port", min_value=1, max_value=65535, initial=993)
    imap_security = forms.ChoiceField(label="IMAP security", choices=Security.choices, initial=Security.SSL)
    imap_username = forms.CharField(
        label="IMAP login",
        max_length=254,
        required=False,
        help_text="Usually the e-mail address (the default).",
    )
    imap_password = forms.CharField(
        label="IMAP password", required=False, widget=forms.PasswordInput(render_value=False), strip=False
    )
    smtp_host = forms.CharField(
        label="SMTP server", max_length=253, required=False, help_text="Leave blank to only read."
    )
    smtp_port = forms.IntegerField(label="SMTP port", min_value=1, max_value=65535, initial=587)
    smtp_security = forms.ChoiceField(
        label="SMTP security", choices=Security.choices, initial=Security.STARTTLS
    )
    smtp_username = forms.CharField(
        label="SMTP login", max_length=254, required=False, help_text="Usually the e-mail address."
    )
    smtp_password = forms.CharField(
        label="SMTP password",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        strip=False,
        help_text="Leave blank to use the IMAP password.",
    )
    internal_domains = forms.CharField(
        label="Internal domains",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Colleagues' domains, one per line: mail among them is never logged.",
    )
    privacy = forms.ChoiceField(
        label="What is logged", choices=Mailbox.Privacy.choices, initial=Mailbox.Privacy.BODY
    )
    track_by_default = forms.BooleanField(
        label="Track opens and clicks of e-mails sent from it by default", required=False
    )

    def __init__(self, *args, user, mailbox: Mailbox | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.mailbox = mailbox
        kinds = [k for k in MAILBOX_KINDS.values() if user.is_superuser or user.has_perm(k.manage_permission)]
        self.fields["purpose"].choices = [(k.key, k.label) for k in kinds]
        teams = []
        for kind in kinds:
            if kind.team_choices is not None:
                teams = kind.team_choices()
        self.fields["team_id"].choices = [("", "— No team —"), *teams]
        if not teams:
            del self.fields["team_id"]
        keep = mailbox is not None and bool(mailbox.imap_password)
        self.fields["imap_password"].help_text = PASSWORD_HELP_KEEP if keep else PASSWORD_HELP_NEW
        if mailbox is not None and mailbox.smtp_password:
            self.fields["smtp_password"].help_text = PASSWORD_HELP_KEEP

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("imap_password")
        smtp_password = data.pop("smtp_password")
        data.setdefault("team_id", None)
        return data | {"smtp_password": smtp_password}


class ComposeForm(ServiceForm):
    mailbox = forms.ModelChoiceField(queryset=Mailbox.objects.none(), label="From", empty_label=None)
    template = forms.ModelChoiceField(
        queryset=EmailTemplate.objects.filter(is_active=True),
        required=False,
        label="Template",
        empty_label="— None —",
    )
    subject = forms.CharField(max_length=255)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}))
    track = forms.BooleanField(label="Track opens and clicks", required=False)

    def __init__(self, *args, mailboxes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mailbox"].queryset = mailboxes
        self.fields["template"].widget.attrs["data-template-picker"] = "1"


class SignatureForm(ServiceForm):
    text = forms.CharField(
        label="Signature",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Added under every e-mail you send from cdpcrm.",
    )


class EmailTemplateAdminForm(forms.ModelForm):
    """The admin's template form: unknown merge fields are refused with their names."""

    class Meta:
        model = EmailTemplate
        fields = ["name", "subject", "body", "is_active"]

    def clean(self):
        cleaned = super().clean()
        for field in ("subject", "body"):
            try:
                template_check(cleaned.get(field) or "", field=field)
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    self.add_error(name, messages)
        return cleaned
