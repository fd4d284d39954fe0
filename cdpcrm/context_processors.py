"""Navigation for base.html: the items a user's role can see, and which one is active."""

from django.urls import NoReverseMatch, reverse

NAV_ITEMS = (
    # (label, url name, icon, permission or "")
    ("Home", "home", "house", ""),
    ("Contacts", "contacts:contact_list", "people", "contacts.view_contact"),
    ("Companies", "contacts:company_list", "building", "contacts.view_company"),
    ("Deals", "pipeline:board", "kanban", "pipeline.view_deal"),
    ("Tickets", "tickets:queue", "life-preserver", "tickets.view_ticket"),
    ("Segments", "segments:segment_list", "funnel", "segments.view_segment"),
    ("Profiles", "profiles:profile_list", "person-badge", "profiles.view_profile"),
    ("Sources", "profiles:source_list", "broadcast", "profiles.view_source"),
    ("Reports", "reports", "bar-chart", ""),
)


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = []
    for label, url_name, icon, perm in NAV_ITEMS:
        if perm and not user.has_perm(perm):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue  # the app has not shipped that page yet
        active = request.path == url if url == "/" else request.path.startswith(url)
        items.append({"label": label, "url": url, "icon": icon, "active": active})
    return {"nav_items": items, "show_admin_link": user.is_staff}
