"""Extension points of the contact and company pages for apps above contacts.

contacts imports no other app. A higher app (pipeline, tickets, profiles, segments) registers a
panel in its AppConfig.ready(); the contact page then loads the panel's URL with htmx
(`hx-get` on `reverse(url_name, args=[contact.pk])`, trigger "load"), so the page itself keeps a
fixed number of queries whatever the higher apps show.
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Panel:
    key: str  # unique id, used as the DOM id: panel-<key>
    title: str
    url_name: str  # takes the contact (or company) pk as its only argument
    permission: str  # the user needs it to see the panel
    order: int = 100  # lower first
    icon: str = "square"
    # "main" (tab in the main column), "side" (card in the sidebar), or "customer": a few lines in the
    # customer card of pages about one of the contact's records (the ticket page shows them).
    placement: str = "main"


CONTACT_PANELS: dict[str, Panel] = {}
COMPANY_PANELS: dict[str, Panel] = {}


def contact_panel_register(panel: Panel) -> None:
    CONTACT_PANELS[panel.key] = panel


def company_panel_register(panel: Panel) -> None:
    COMPANY_PANELS[panel.key] = panel


def _visible(panels: dict[str, Panel], *, user, pk: int) -> list[dict]:
    visible = []
    for panel in sorted(panels.values(), key=lambda p: (p.order, p.key)):
        if not user.has_perm(panel.permission):
            continue
        try:
            url = reverse(panel.url_name, args=[pk])
        except NoReverseMatch:
            # The registering app has not shipped the panel's page (yet): leave the panel out.
            continue
        visible.append({"panel": panel, "url": url})
    return visible


def contact_panels_for(*, user, contact_id: int) -> list[dict]:
    return _visible(CONTACT_PANELS, user=user, pk=contact_id)


def company_panels_for(*, user, company_id: int) -> list[dict]:
    return _visible(COMPANY_PANELS, user=user, pk=company_id)
