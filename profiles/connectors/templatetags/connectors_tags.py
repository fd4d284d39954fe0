"""{% connector_panel source %}: the connector section of a source page, on a full page load too."""

from django import template

from ..selectors import connector_panel as panel_read

register = template.Library()


@register.inclusion_tag("connectors/partials/_panel.html", takes_context=True)
def connector_panel(context, source):
    request = context["request"]
    return {
        "panel": panel_read(source=source, base_url=request.build_absolute_uri("/")),
        "perms": context.get("perms"),
        "csrf_token": context.get("csrf_token"),
        "notice": context.get("notice"),
    }
