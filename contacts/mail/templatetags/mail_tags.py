"""Template helpers of the e-mail pages."""

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

register = template.Library()


@register.filter
def when(value) -> str:
    """ "10:42" today, "Mar 3, 10:42" on another day (local time)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    if local.date() == timezone.localdate():
        return date_filter(local, "H:i")
    return date_filter(local, "M j, H:i")


@register.filter
def size(value) -> str:
    return filesizeformat(value or 0)
