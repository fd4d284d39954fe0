"""Forms of the deal pages; they parse input, the services in pipeline/services.py apply the rules."""

from django import forms

from common.forms import BootstrapFormMixin
from common.pickers import PickerSelect, user_sub
from contacts.forms import company_picker_field, contact_picker_field

from .currencies import CURRENCY_CHOICES, DEFAULT_CURRENCY
from .models import Deal, Stage
from .selectors import owner_choices


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


def _owner_picker() -> PickerSelect:
    return PickerSelect("pipeline:owner_pick", sub=user_sub, placeholder="Type a name…")


class StageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Stage) -> str:
        return f"{obj.pipeline.name} · {obj.name} ({obj.probability}%)"


class DealFieldsForm(BootstrapFormMixin, forms.ModelForm):
    """The editable fields of a deal, stage excepted (stage moves go through `deal_move`)."""

    contact = contact_picker_field(required=False, empty_label="No contact")
    company = company_picker_field(required=False, empty_label="No company")

    class Meta:
        model = Deal
        fields = [
            "title",
            "amount",
            "currency",
            "expected_close_date",
            "owner",
            "contact",
            "company",
            "next_step",
        ]
        widgets = {
            "expected_close_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "owner": _owner_picker(),
        }
        field_classes = {"owner": UserChoiceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owner_choices()
        self.fields["owner"].empty_label = "Nobody"
        self.fields["amount"].widget.attrs.update({"min": "0", "step": "0.01"})

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("contact") and not cleaned.get("company"):
            self.add_error("contact", "A deal needs a contact or a company.")
        return cleaned


class DealCreateForm(DealFieldsForm):
    stage = StageChoiceField(
        queryset=Stage.objects.select_related("pipeline").order_by("pipeline__name", "position")
    )
    lost_reason = forms.CharField(max_length=200, required=False)

    class Meta(DealFieldsForm.Meta):
        fields = [*DealFieldsForm.Meta.fields[:4], "stage", *DealFieldsForm.Meta.fields[4:], "lost_reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].widget.attrs["class"] = "form-select"
        self.fields["lost_reason"].widget.attrs["class"] = "form-control"

    def clean(self):
        cleaned = super().clean()
        stage = cleaned.get("stage")
        if stage and stage.kind == Stage.Kind.LOST and not cleaned.get("lost_reason", "").strip():
            self.add_error("lost_reason", "Say why the deal was lost.")
        return cleaned


class QuickCreateForm(BootstrapFormMixin, forms.Form):
    title = forms.CharField(max_length=200)
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, initial=DEFAULT_CURRENCY)
    company = company_picker_field(required=False, empty_label="No company")
    contact = contact_picker_field(required=False, empty_label="No contact")

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("contact") and not cleaned.get("company"):
            self.add_error("company", "Pick a company or a contact.")
        return cleaned


class MoveForm(BootstrapFormMixin, forms.Form):
    stage = forms.ModelChoiceField(queryset=Stage.objects.all())
    lost_reason = forms.CharField(max_length=200, required=False)
