"""Navigation for base.html: the items a user's role can see, and which one is active."""

from django.urls import NoReverseMatch, reverse

NAV_ITEMS = (
    # (label, url name, icon, permission or "", menu: "" = on the bar, else the dropdown it sits in)
    ("Home", "home", "house", "", ""),
    ("Contacts", "contacts:contact_list", "people", "contacts.view_contact", ""),
    ("Companies", "contacts:company_list", "building", "contacts.view_company", ""),
    ("Deals", "pipeline:board", "kanban", "pipeline.view_deal", ""),
    ("Tickets", "tickets:queue", "life-preserver", "tickets.view_ticket", ""),
    # The CDP pages share one menu, so the bar fits 1280 px for every role (Log out stays in view).
    ("Segments", "segments:segment_list", "funnel", "segments.view_segment", "CDP"),
    ("Journeys", "journeys:journey_list", "signpost-split", "journeys.view_journey", "CDP"),
    ("Profiles", "profiles:profile_list", "person-badge", "profiles.view_profile", "CDP"),
    ("Sources", "profiles:source_list", "broadcast", "profiles.view_source", "CDP"),
    ("Reports", "reports", "bar-chart", "", ""),
)
MENU_ICONS = {"CDP": "diagram-3"}


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items: list[dict] = []
    menus: dict[str, dict] = {}
    for label, url_name, icon, perm, menu in NAV_ITEMS:
        if perm and not user.has_perm(perm):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue  # the app has not shipped that page yet
        active = request.path == url if url == "/" else request.path.startswith(url)
        item = {"label": label, "url": url, "icon": icon, "active": active}
        if not menu:
            items.append(item)
            continue
        if menu not in menus:
            menus[menu] = {
                "label": menu,
                "icon": MENU_ICONS.get(menu, "list"),
                "children": [],
                "active": False,
            }
            items.append(menus[menu])
        menus[menu]["children"].append(item)
        menus[menu]["active"] = menus[menu]["active"] or active
    return {"nav_items": items, "show_admin_link": user.is_staff}
