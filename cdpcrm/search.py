"""Global search across apps. Each provider returns a result group; cdpcrm sits above every app.

Within a group hits are ranked exact > prefix > contains (each app's search selector does it); groups
are ordered by their best hit, so an exact company name comes before contacts that merely contain it.
Phone numbers match in any format a person types (contacts/search.py).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from contacts import selectors as contact_selectors
from contacts.search import rank_of

PER_GROUP = 5


@dataclass
class SearchHit:
    title: str
    subtitle: str
    url: str
    rank: int = 2  # 0 exact, 1 prefix, 2 contains


@dataclass
class SearchGroup:
    label: str
    icon: str
    hits: list[SearchHit] = field(default_factory=list)
    more_url: str = ""

    @property
    def best_rank(self) -> int:
        return min((hit.rank for hit in self.hits), default=3)


def _contacts(query: str, user) -> SearchGroup | None:
    if not user.has_perm("contacts.view_contact"):
        return None
    hits = [
        SearchHit(
            c.full_name,
            " · ".join(filter(None, [c.email, c.company.name if c.company else ""])),
            c.get_absolute_url(),
            rank_of(c),
        )
        for c in contact_selectors.contact_search(query=query, limit=PER_GROUP)
    ]
    return SearchGroup("Contacts", "person", hits, more_url=f"/contacts/?q={quote(query)}")


def _companies(query: str, user) -> SearchGroup | None:
    if not user.has_perm("contacts.view_company"):
        return None
    hits = [
        SearchHit(c.name, c.domain, c.get_absolute_url(), rank_of(c))
        for c in contact_selectors.company_search(query=query, limit=PER_GROUP)
    ]
    return SearchGroup("Companies", "building", hits, more_url=f"/companies/?q={quote(query)}")


def _tickets(query: str, user) -> SearchGroup | None:
    from tickets import selectors as ticket_selectors

    if not user.has_perm("tickets.view_ticket"):
        return None
    hits = [
        SearchHit(
            f"{t.reference} {t.subject}",
            f"{t.contact.full_name} · {t.get_status_display()}",
            t.get_absolute_url(),
        )
        for t in ticket_selectors.ticket_search(query=query, limit=PER_GROUP)
    ]
    return SearchGroup("Tickets", "life-preserver", hits, more_url=f"/tickets/?view=all&q={quote(query)}")


def _deals(query: str, user) -> SearchGroup | None:
    from pipeline import selectors as pipeline_selectors

    if not user.has_perm("pipeline.view_deal"):
        return None
    hits = [
        SearchHit(
            d.title,
            " · ".join(
                filter(
                    None, [d.stage.name, f"{d.currency} {d.amount:,.0f}", d.company.name if d.company else ""]
                )
            ),
            d.get_absolute_url(),
            rank_of(d),
        )
        for d in pipeline_selectors.deal_search(query=query, limit=PER_GROUP)
    ]
    return SearchGroup("Deals", "kanban", hits, more_url=f"/deals/list/?pipeline=all&q={quote(query)}")


def _profiles(query: str, user) -> SearchGroup | None:
    from profiles.unify import selectors as profile_selectors

    if not user.has_perm("profiles.view_profile"):
        return None
    hits = [
        SearchHit(
            str(p),
            p.contact.full_name if p.contact else "Unknown visitor",
            p.get_absolute_url(),
        )
        for p in profile_selectors.profile_search(query=query)[:PER_GROUP]
    ]
    return SearchGroup(
        "CDP profiles", "person-bounding-box", hits, more_url=f"/cdp/profiles/?q={quote(query)}"
    )


# Apps above contacts append their provider here (deals, tickets, profiles).
SEARCH_PROVIDERS: list[Callable[[str, object], SearchGroup | None]] = [_contacts, _companies]
SEARCH_PROVIDERS.append(_tickets)
SEARCH_PROVIDERS.append(_deals)
SEARCH_PROVIDERS.append(_profiles)


def search_all(*, query: str, user) -> list[SearchGroup]:
    groups = [provider(query, user) for provider in SEARCH_PROVIDERS]
    found = [group for group in groups if group is not None and group.hits]
    return sorted(found, key=lambda group: group.best_rank)  # stable: the providers' order otherwise
