"""Panels of higher apps on the profile page (journeys' paths), loaded with htmx like contacts/panels.py."""

from contacts.panels import Panel, _visible

PROFILE_PANELS: dict[str, Panel] = {}


def profile_panel_register(panel: Panel) -> None:
    PROFILE_PANELS[panel.key] = panel


def profile_panels_for(*, user, profile_id: int) -> list[dict]:
    return _visible(PROFILE_PANELS, user=user, pk=profile_id)
