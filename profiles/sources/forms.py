"""Forms of the source pages: a new or edited source, a CSV upload."""

from django import forms

from common.forms import BootstrapFormMixin

from ..models import Source


class SourceForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(
        max_length=120, help_text="Where the events come from, e.g. “Website” or “Store POS”."
    )
    kind = forms.ChoiceField(choices=Source.Kind.choices)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Source.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError("A source with this name already exists.")
        return name


class CsvUploadForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: event, timestamp, and user_id, anonymous_id or email; other columns become "
        "properties. At most 5 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
