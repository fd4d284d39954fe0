"""Forms of the contact and company pages. They only parse input; the services validate and write."""

from django import forms
from django.core.exceptions import ValidationError
from phonenumber_field.formfields import PhoneNumberField

from common.forms import BootstrapFormMixin, UtcDateTimeField
from common.pickers import PickerSelect, user_sub

from . import selectors
from .models import Activity, Company, Contact, LoyaltyAccount, LoyaltyNote
from .services.companies import domain_normalise


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class ServiceForm(BootstrapFormMixin, forms.Form):
    """A form whose data goes to a service; the service's ValidationError lands on the form's fields."""

    def add_service_error(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.username


def _owner_field(label: str = "Owner") -> forms.ModelChoiceField:
    return UserChoiceField(
        queryset=selectors.owner_choices(),
        required=False,
        label=label,
        empty_label="Nobody",
        widget=PickerSelect("contacts:owner_pick", sub=user_sub, placeholder="Type a name…"),
    )


def company_picker_field(**kwargs) -> forms.ModelChoiceField:
    """A company chosen by typing its name or domain (contacts/views/pickers.py answers)."""
    return forms.ModelChoiceField(
        queryset=Company.objects.all(),
        widget=PickerSelect(
            "contacts:company_pick", sub=lambda c: c.domain or c.industry, placeholder="Type a company…"
        ),
        **kwargs,
    )


def contact_picker_field(**kwargs) -> forms.ModelChoiceField:
    """A contact chosen by typing a name, e-mail, company or phone number."""
    return forms.ModelChoiceField(
        queryset=Contact.objects.select_related("company"),
        widget=PickerSelect(
            "contacts:contact_pick",
            sub=lambda c: " · ".join(filter(None, [c.email, c.company.name if c.company_id else ""])),
            placeholder="Type a name, e-mail or phone…",
        ),
        **kwargs,
    )


class ContactForm(ServiceForm):
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.EmailField(max_length=254, required=False)
    phone = PhoneNumberField(required=False, help_text="With country code, e.g. +44 20 7946 0958.")
    job_title = forms.CharField(max_length=150, required=False)
    company = company_picker_field(required=False, empty_label="No company")
    owner = _owner_field()
    lifecycle_stage = forms.ChoiceField(choices=Contact.Lifecycle.choices, initial=Contact.Lifecycle.LEAD)
    lead_source = forms.CharField(max_length=100, required=False)
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. VIP, newsletter.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].widget.attrs["autofocus"] = True

    @staticmethod
    def initial_for(contact: Contact) -> dict:
        return {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": contact.email,
            "phone": str(contact.phone) if contact.phone else "",
            "job_title": contact.job_title,
            "company": contact.company_id,
            "owner": contact.owner_id,
            "lifecycle_stage": contact.lifecycle_stage,
            "lead_source": contact.lead_source,
            "tags": ", ".join(tag.name for tag in contact.tags.all()),
        }

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["tags"] = [name.strip() for name in data.get("tags", "").split(",") if name.strip()]
        return data


class CompanyForm(ServiceForm):
    name = forms.CharField(max_length=200)
    domain = forms.CharField(max_length=253, required=False, help_text="e.g. atelier-nord.com")
    industry = forms.CharField(max_length=100, required=False)
    size = forms.ChoiceField(choices=[("", "—"), *Company.Size.choices], required=False)
    phone = PhoneNumberField(required=False, help_text="With country code, e.g. +44 20 7946 0958.")
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    owner = _owner_field()
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. wholesale, key account.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autofocus"] = True

    def clean_domain(self) -> str:
        """Checked here as well as in the service, so a bad domain shows next to the other errors."""
        domain = domain_normalise(self.cleaned_data["domain"])
        if domain:
            Company._meta.get_field("domain").run_validators(domain)
        return domain

    @staticmethod
    def initial_for(company: Company) -> dict:
        return {
            "name": company.name,
            "domain": company.domain,
            "industry": company.industry,
            "size": company.size,
            "phone": str(company.phone) if company.phone else "",
            "address": company.address,
            "owner": company.owner_id,
            "tags": ", ".join(tag.name for tag in company.tags.all()),
        }

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["tags"] = [name.strip() for name in data.get("tags", "").split(",") if name.strip()]
        return data


class ActivityForm(ServiceForm):
    """The activity form of contact, company and deal pages (one set of labels, one date rule: the service's)."""

    kind = forms.ChoiceField(choices=Activity.Kind.choices, initial=Activity.Kind.NOTE)
    subject = forms.CharField(max_length=200, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Details")
    direction = forms.ChoiceField(choices=[("", "—"), *Activity.Direction.choices], required=False)
    duration_minutes = forms.IntegerField(min_value=0, max_value=24 * 60, required=False, label="Minutes")
    occurred_at = UtcDateTimeField(
        widget=DateTimeLocalInput(), required=False, label="When", help_text="Empty means now."
    )


class TaskForm(ServiceForm):
    """The task form of contact, company and deal pages (one set of labels everywhere)."""

    title = forms.CharField(max_length=200)
    due_at = UtcDateTimeField(widget=DateTimeLocalInput(), required=False, label="Due")
    assignee = _owner_field("Assignee")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Notes")


class LoyaltyEnrollForm(ServiceForm):
    tier = forms.ChoiceField(choices=LoyaltyAccount.Tier.choices, initial=LoyaltyAccount.Tier.BRONZE)


class LoyaltyPointsForm(ServiceForm):
    kind = forms.ChoiceField(
        choices=[
            (LoyaltyNote.Kind.EARNED, "Add points"),
            (LoyaltyNote.Kind.REDEEMED, "Redeem points"),
            (LoyaltyNote.Kind.ADJUSTED, "Adjust (±)"),
        ],
        label="Action",
    )
    points_delta = forms.IntegerField(
        label="Points",
        min_value=-10_000_000,
        max_value=10_000_000,
        help_text="How many points to add or redeem; only an adjustment may be negative.",
    )
    text = forms.CharField(max_length=500, required=False, label="Reason")

    def delta(self) -> int:
        """Points as the ledger stores them, signed by the action, never by abs(): a negative number
        typed for "Add points" or "Redeem points" reaches the service, which refuses it with the reason."""
        points = self.cleaned_data["points_delta"]
        if self.cleaned_data["kind"] == LoyaltyNote.Kind.REDEEMED:
            return -points
        return points


class LoyaltyTierForm(ServiceForm):
    tier = forms.ChoiceField(choices=LoyaltyAccount.Tier.choices)
    text = forms.CharField(max_length=500, required=False, label="Reason")


class LoyaltyNoteForm(ServiceForm):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Note")
