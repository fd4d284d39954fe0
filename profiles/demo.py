"""Demo CDP data: the six Modish sources and a behavioural history sent through the real ingestion pipeline.

Events are built as Segment-spec batches and handed to the same service the /v1/batch view uses, so they are
normalised, enriched, resolved to profiles and deduplicated like live traffic. Every messageId is fixed,
so running the demo again stores nothing new.
"""

import json
import random
from datetime import timedelta

from django.utils import timezone

from contacts.models import Contact

from .ingest.inbox import batch_accept, request_info_now
from .models import Event, Source
from .sources.offline import offline_csv_import
from .sources.services import source_create

SEED = 5
KNOWN_CONTACTS = 150
ANONYMOUS_VISITORS = 60
BATCH_SIZE = 500
SOURCES = (
    ("Website", Source.Kind.WEBSITE),
    ("iOS app", Source.Kind.IOS),
    ("Android app", Source.Kind.ANDROID),
    ("Email platform (ESP)", Source.Kind.EMAIL),
    ("Shop backend", Source.Kind.ECOMMERCE),
    ("Store POS (offline)", Source.Kind.OFFLINE),
)
PRODUCTS = (
    ("SKU-1001", "Linen shirt", "shirts", 59.0),
    ("SKU-1002", "Chelsea boots", "shoes", 149.0),
    ("SKU-1003", "Wool coat", "coats", 229.0),
    ("SKU-1004", "Running sneakers", "shoes", 99.0),
    ("SKU-1005", "Silk scarf", "accessories", 45.0),
    ("SKU-1006", "Slim jeans", "trousers", 79.0),
    ("SKU-1007", "Leather belt", "accessories", 39.0),
    ("SKU-1008", "Summer dress", "dresses", 89.0),
)
CAMPAIGNS = (
    ("newsletter", "email", "spring-sale"),
    ("google", "cpc", "brand"),
    ("instagram", "social", "lookbook"),
)
STORES = ("Milan", "Paris", "London", "New York")
DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


def _sources_ensure(stdout) -> dict[str, Source]:
    sources = {source.name: source for source in Source.objects.filter(name__in=[n for n, _ in SOURCES])}
    for name, kind in SOURCES:
        if name not in sources:
            sources[name], key = source_create(name=name, kind=kind)
            stdout.write(f"profiles: source {name!r} created, write key {key}\n")
    return sources


class _History:
    """Collects Segment calls per source; messageIds are derived from a fixed per-person counter."""

    def __init__(self, now, *, nested: bool = True):
        self.now = now
        self.calls: dict[str, list[dict]] = {}
        self.early = _History(now, nested=False) if nested else None

    def add(self, source: str, call: dict, *, person: str, n: int, at) -> None:
        at = min(at, self.now)  # a visit that started just now must not log its later steps in the future
        call = {**call, "messageId": f"demo-{person}-{n}", "timestamp": at.isoformat()}
        self.calls.setdefault(source, []).append(call)


def _web_visit(
    history: _History,
    rng: random.Random,
    *,
    person: str,
    anon: str,
    user_id: str | None,
    counter: list[int],
    at,
) -> None:
    ids = {"anonymousId": anon, **({"userId": user_id} if user_id else {})}
    source_medium = rng.choice(CAMPAIGNS) if rng.random() < 0.4 else None
    url = "https://modish.example/"
    if source_medium:
        url += f"?utm_source={source_medium[0]}&utm_medium={source_medium[1]}&utm_campaign={source_medium[2]}"
    context = {
        "userAgent": rng.choice((DESKTOP_UA, MOBILE_UA)),
        "page": {"url": url},
        "library": {"name": "analytics.js", "version": "next-1.84.3"},
        "ip": f"198.51.100.{rng.randint(1, 254)}",
    }

    def add(call: dict, minutes: int) -> None:
        counter[0] += 1
        history.add(
            "Website",
            {**call, **ids, "context": context},
            person=person,
            n=counter[0],
            at=at + timedelta(minutes=minutes),
        )

    add({"type": "page", "name": "Home", "properties": {"url": url, "title": "Modish"}}, 0)
    sku, name, category, price = rng.choice(PRODUCTS)
    add(
        {
            "type": "page",
            "name": "Product",
            "category": category,
            "properties": {"url": f"https://modish.example/p/{sku}"},
        },
        1,
    )
    add(
        {
            "type": "track",
            "event": "Product Viewed",
            "properties": {
                "product_id": sku,
                "name": name,
                "category": category,
                "price": price,
                "currency": "EUR",
            },
        },
        2,
    )
    if rng.random() < 0.45:
        add(
            {
                "type": "track",
                "event": "Product Added",
                "properties": {
                    "product_id": sku,
                    "name": name,
                    "category": category,
                    "price": price,
                    "quantity": 1,
                    "currency": "EUR",
                },
            },
            4,
        )
        if rng.random() < 0.5:
            add(
                {
                    "type": "track",
                    "event": "Checkout Started",
                    "properties": {"value": price, "currency": "EUR", "products": [{"product_id": sku}]},
                },
                6,
            )


def _history_build(contacts: list[Contact], now) -> _History:
    rng = random.Random(SEED)
    history = _History(now)
    for contact in contacts:
        person = f"c{contact.pk}"
        user_id, anon = f"cust-{contact.pk}", f"anon-{contact.pk}"
        counter = [0]
        start = now - timedelta(days=rng.randint(20, 90))
        counter[0] += 1
        history.add(
            "Website",
            {
                "type": "identify",
                "userId": user_id,
                "anonymousId": anon,
                "traits": {
                    "email": contact.email,
                    "first_name": contact.first_name,
                    "last_name": contact.last_name,
                },
            },
            person=person,
            n=counter[0],
            at=start,
        )
        for visit in range(rng.randint(1, 5)):
            at = start + timedelta(days=visit * rng.randint(2, 9), hours=rng.randint(8, 20))
            if at < now:
                _web_visit(
                    history,
                    rng,
                    person=person,
                    anon=anon,
                    user_id=user_id if visit else None,
                    counter=counter,
                    at=at,
                )
        for order in range(rng.choice((0, 0, 1, 1, 2, 3))):
            sku, name, category, price = rng.choice(PRODUCTS)
            at = min(now, start + timedelta(days=rng.randint(1, 60), hours=rng.randint(9, 21)))
            counter[0] += 1
            history.add(
                "Shop backend",
                {
                    "type": "track",
                    "event": "Order Completed",
                    "userId": user_id,
                    "properties": {
                        "order_id": f"MOD-{contact.pk}-{order}",
                        "revenue": price,
                        "currency": "EUR",
                        "products": [{"product_id": sku, "name": name, "category": category, "price": price}],
                    },
                    "context": {"traits": {"email": contact.email}, "library": {"name": "analytics-python"}},
                },
                person=person,
                n=counter[0],
                at=at,
            )
        for campaign in range(rng.randint(0, 4)):
            at = min(now, start + timedelta(days=7 * campaign + 1, hours=9))
            email_props = {
                "campaign_name": rng.choice(("Spring sale", "New arrivals", "Back in stock")),
                "email_subject": "Made for you",
            }
            for event, chance in (("Email Opened", 0.8), ("Email Link Clicked", 0.35)):
                if rng.random() < chance:
                    counter[0] += 1
                    history.add(
                        "Email platform (ESP)",
                        {
                            "type": "track",
                            "event": event,
                            "userId": user_id,
                            "properties": email_props,
                            "context": {"traits": {"email": contact.email}},
                        },
                        person=person,
                        n=counter[0],
                        at=at + timedelta(minutes=30),
                    )
        if rng.random() < 0.35:
            platform = rng.choice(("iOS app", "Android app"))
            os_name = "iOS" if platform == "iOS app" else "Android"
            for session in range(rng.randint(1, 4)):
                at = min(now, start + timedelta(days=session * 5 + 2, hours=19))
                context = {
                    "os": {"name": os_name},
                    "app": {"name": "Modish", "version": "4.2.0"},
                    "device": {"type": "mobile"},
                }
                for call in (
                    {"type": "track", "event": "Application Opened"},
                    {"type": "screen", "name": "Home"},
                    {"type": "screen", "name": "Product"},
                ):
                    counter[0] += 1
                    history.add(
                        platform,
                        {**call, "userId": user_id, "context": context},
                        person=person,
                        n=counter[0],
                        at=at + timedelta(minutes=counter[0] % 7),
                    )
    _second_devices(history, contacts, now)
    for visitor in range(ANONYMOUS_VISITORS):
        counter = [0]
        at = now - timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 23))
        _web_visit(
            history,
            rng,
            person=f"v{visitor}",
            anon=f"visitor-{visitor}",
            user_id=None,
            counter=counter,
            at=at,
        )
    return history


def _second_devices(history: _History, contacts: list[Contact], now) -> None:
    """Every third person also browses anonymously on a phone and later logs in there: a merge.

    The anonymous phone visits go into `history.early`, sent before everything else, so the phone gets its
    own profile first and the later login (identify with the user id) merges the two, with a ledger row.
    """
    rng = random.Random(SEED + 2)
    for contact in contacts[::3]:
        person, anon = f"c{contact.pk}-phone", f"phone-{contact.pk}"
        counter = [0]
        at = now - timedelta(days=rng.randint(3, 15), hours=rng.randint(1, 12))
        _web_visit(history.early, rng, person=person, anon=anon, user_id=None, counter=counter, at=at)
        counter[0] += 1
        history.add(
            "Website",
            {
                "type": "identify",
                "userId": f"cust-{contact.pk}",
                "anonymousId": anon,
                "context": {"userAgent": MOBILE_UA},
            },
            person=person,
            n=counter[0],
            at=at + timedelta(minutes=20),
        )


def _pos_csv(contacts: list[Contact], now) -> bytes:
    rng = random.Random(SEED + 1)
    lines = ["message_id,event,timestamp,email,revenue,currency,store"]
    for contact in contacts[::4]:
        sku, _, _, price = rng.choice(PRODUCTS)
        at = (now - timedelta(days=rng.randint(1, 60))).replace(microsecond=0).isoformat()
        lines.append(
            f"demo-pos-{contact.pk},Order Completed,{at},{contact.email},{price},EUR,{rng.choice(STORES)}"
        )
    return ("\n".join(lines) + "\n").encode()


def _edge_cases(now) -> list[dict]:
    """What real clients send too: RudderStack identify traits in context.traits only, a GA4-style cart with
    a property named "items", a NUL and a lone surrogate (cleaned and stored), an event over 32 KB and a
    date that is none (both rejected with their reason on the Website page)."""
    at = (now - timedelta(minutes=5)).isoformat()
    base = {"anonymousId": "demo-edge-visitor", "timestamp": at}
    return [
        {
            **base,
            "type": "identify",
            "userId": "demo-rudder-1",
            "messageId": "demo-edge-rudder",
            "context": {
                "library": {"name": "RudderLabs JavaScript SDK"},
                "traits": {"email": "rita.rudder@example.com", "plan": "gold"},
            },
        },
        {
            **base,
            "type": "track",
            "event": "Cart Viewed",
            "messageId": "demo-edge-cart",
            "properties": {
                "items": [{"item_id": "SKU-1002", "quantity": 1}],
                "value": 149.0,
                "currency": "EUR",
            },
        },
        {
            **base,
            "type": "track",
            "event": "Search",
            "messageId": "demo-edge-nul",
            "properties": {"query": "boots\u0000", "ref": "x\ud800"},
        },
        {
            **base,
            "type": "track",
            "event": "Huge",
            "messageId": "demo-edge-huge",
            "properties": {"blob": "x" * 33_000},
        },
        {
            **base,
            "type": "track",
            "event": "Bad Date",
            "messageId": "demo-edge-date",
            "timestamp": "yesterday",
        },
    ]


def demo_load(*, users: dict, stdout) -> None:
    sources = _sources_ensure(stdout)
    contacts = list(Contact.objects.exclude(email="").order_by("pk")[:KNOWN_CONTACTS])
    before = Event.objects.count()
    now = timezone.now().replace(microsecond=0)
    history = _history_build(contacts, now)
    ordered = [*history.early.calls.items(), *history.calls.items()]
    for source_name, calls in ordered:
        source = sources[source_name]
        for start in range(0, len(calls), BATCH_SIZE):
            chunk = calls[start : start + BATCH_SIZE]
            info = request_info_now(
                client_ip="127.0.0.1", user_agent="cdpcrm-demo", browser_source=source.is_browser
            )
            batch_accept(
                source=source,
                kind="batch",
                body=json.dumps({"batch": chunk}),
                event_count=len(chunk),
                info=info,
            )
    website = sources["Website"]
    if not Event.objects.filter(source=website, message_id="demo-edge-cart").exists():
        batch_accept(
            source=website,
            kind="batch",
            body=json.dumps({"batch": _edge_cases(now)}),
            event_count=5,
            info=request_info_now(client_ip="127.0.0.1", user_agent="cdpcrm-demo", browser_source=True),
        )
    offline_csv_import(
        source=sources["Store POS (offline)"], data=_pos_csv(contacts, now), filename="pos-demo.csv"
    )
    stdout.write(
        f"profiles: {len(sources)} sources, {Event.objects.count() - before} new events "
        f"(for {len(contacts)} contacts and {ANONYMOUS_VISITORS} anonymous visitors)\n"
    )
