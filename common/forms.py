"""Form helpers shared by every app's forms."""

import datetime

from django import forms


class BootstrapFormMixin:
    """Gives every widget Bootstrap's classes, and marks invalid fields after validation."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self):
        super().full_clean()
        self._mark_invalid()

    def add_error(self, field, error):
        # Services raise ValidationError after is_valid(); views attach it here, so mark again.
        super().add_error(field, error)
        self._mark_invalid()

    def _mark_invalid(self) -> None:
        invalid = [name for name in self.fields if name in self.errors]
        if invalid:
            # The re-rendered form puts the cursor on the first field to fix, not on its first field.
            for field in self.fields.values():
                field.widget.attrs.pop("autofocus", None)
            self.fields[invalid[0]].widget.attrs["autofocus"] = True
        for name in invalid:
            widget = self.fields[name].widget
            if "is-invalid" not in widget.attrs.get("class", ""):
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
            widget.attrs["aria-invalid"] = "true"


class UtcDateTimeField(forms.DateTimeField):
    """A date-time typed with any UTC offset Python accepts (up to +-23:59), kept in UTC: PostgreSQL refuses
    offsets past +-15:59, so an aware value is converted before it reaches the database."""

    def to_python(self, value):
        result = super().to_python(value)
        return result.astimezone(datetime.UTC) if result is not None and result.tzinfo else result
