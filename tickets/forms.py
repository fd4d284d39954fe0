"""Forms of the ticket pages: create, reply and the queue filters."""

from django import forms

from common.forms import BootstrapFormMixin
from common.pickers import PickerSelect, user_sub
from contacts.forms import contact_picker_field
from contacts.models import Tag

from .models import Channel, Priority, Status, Team
from .selectors import QUEUE_SORTS, QUEUE_VIEWS, agent_list


class TicketCreateForm(BootstrapFormMixin, forms.Form):
    contact = contact_picker_field(
        required=False, label="Existing customer", empty_label="None: a new customer (below)"
    )
    requester_email = forms.EmailField(
        label="Customer email",
        required=False,
        help_text="An existing contact with this email is used; otherwise one is created.",
    )
    requester_name = forms.CharField(label="Customer name", max_length=200, required=False)
    subject = forms.CharField(max_length=200)
    body = forms.CharField(label="Description", widget=forms.Textarea(attrs={"rows": 5}), required=False)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="No team")
    assignee = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Unassigned",
        widget=PickerSelect("tickets:agent_pick", sub=user_sub, placeholder="Type an agent's name…"),
    )
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. refund, delivery")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agent_list()
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.username

    def clean(self):
        data = super().clean()
        if not data.get("contact") and not data.get("requester_email"):
            self.add_error("requester_email", "Enter the customer's email address.")
        return data

    def tag_names(self) -> list[str]:
        return [name.strip() for name in self.cleaned_data.get("tags", "").split(",") if name.strip()]


class ReplyForm(BootstrapFormMixin, forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Write a reply…"}))
    internal = forms.BooleanField(required=False, label="Internal note (only staff see it)")


class QueueFilterForm(forms.Form):
    view = forms.ChoiceField(choices=list(QUEUE_VIEWS.items()), required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    priority = forms.ChoiceField(choices=[("", "Any priority"), *Priority.choices], required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="Any team")
    channel = forms.ChoiceField(choices=[("", "Any channel"), *Channel.choices], required=False)
    tag = forms.ModelChoiceField(queryset=Tag.objects.all(), required=False, empty_label="Any tag")
    q = forms.CharField(required=False)
    sort = forms.ChoiceField(
        choices=[
            ("due", "SLA due first"),
            ("-created", "Newest"),
            ("created", "Oldest"),
            ("-updated", "Recently updated"),
        ],
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name in ("q",):
                field.widget.attrs.update(
                    {"class": "form-control form-control-sm", "placeholder": "Subject, #ref, customer"}
                )
            else:
                field.widget.attrs.update({"class": "form-select form-select-sm"})

    def values(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "view": data.get("view") or "open",
            "status": data.get("status") or "",
            "priority": data.get("priority") or "",
            "team_id": data["team"].pk if data.get("team") else None,
            "channel": data.get("channel") or "",
            "tag_id": data["tag"].pk if data.get("tag") else None,
            "query": (data.get("q") or "").strip(),
            "sort": data.get("sort") if data.get("sort") in QUEUE_SORTS else "due",
        }
