"""Demo CRM data for Modish, an online fashion retailer: companies, contacts, activities, tasks, loyalty.

Deterministic (one seeded Random) and idempotent: every run generates the same data set and writes, in
one transaction, the companies (by domain) and contacts (by e-mail) that are missing with their tags,
activities, tasks and loyalty ledgers, so a second run creates nothing and a run after some demo rows were
deleted brings them back. Rows go in with bulk_create, so the whole set loads in seconds.
"""

import datetime
import random

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from .models import Activity, Company, Contact, LoyaltyAccount, LoyaltyNote, RecentView, SavedView, Tag, Task
from .search_text import search_text_for

SEED = 20261129
MARKER_DOMAIN = "modish-hq.example"

FIRST_NAMES = (
    "Olivia Emma Amelia Sophia Isla Ava Mia Grace Chloe Lily Zoe Hannah Aisha Fatima Priya Ananya Mei "
    "Yuki Sakura Lucia Sofia Valentina Camila Ines Clara Elena Freya Ingrid Astrid Nora Leila Yasmin "
    "Amara Zainab Chiara Giulia Noah Liam Oliver James Lucas Mateo Leo Arjun Rohan Kenji Hiroshi Wei Jun "
    "Omar Yusuf Ibrahim Kwame Tunde Diego Pablo Marco Luca Felix Hugo Jonas Erik Lars Samuel Daniel Ethan "
    "Adam Tomas Nikolai Aleksander Rafael Thiago"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Garcia Martinez Rodriguez Lopez Gonzalez Hernandez Patel Shah Singh "
    "Kumar Khan Ahmed Ali Chen Wang Li Zhang Liu Tanaka Sato Suzuki Kim Park Nguyen Tran Rossi Bianchi "
    "Romano Ricci Conti Muller Schmidt Schneider Fischer Weber Dubois Martin Bernard Moreau Laurent Silva "
    "Santos Oliveira Costa Pereira Jensen Hansen Nielsen Larsen Andersson Johansson Nowak Kowalski Novak "
    "Horvat Okafor Mensah Adeyemi Osei Cohen Levi Murphy Kelly OBrien Walsh Taylor Davies Evans Wilson "
    "Thomas Roberts Walker Wright Hughes"
).split()
MAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "inbox.example")

COMPANY_KINDS = (
    # (industry, share, name stems, suffixes, typical contact titles)
    (
        "Wholesale",
        0.25,
        (
            "Northgate",
            "Harbour",
            "Meridian",
            "Crescent",
            "Summit",
            "Riverside",
            "Atlas",
            "Beacon",
            "Cobalt",
            "Lumen",
        ),
        ("Fashion Distribution", "Apparel Wholesale", "Trading Co.", "Retail Partners", "Style Distributors"),
        ("Buyer", "Head of Buying", "Category Manager", "Account Director"),
    ),
    (
        "Textile manufacturing",
        0.2,
        ("Loom", "Weave", "Thread", "Cotton", "Linen", "Silk", "Denim", "Wool", "Indigo", "Selvedge"),
        ("Mills", "Textiles", "Fabrics Ltd", "Knitworks", "Manufacturing"),
        ("Sales Manager", "Production Manager", "Account Manager", "Sustainability Lead"),
    ),
    (
        "Corporate gifting",
        0.2,
        (
            "Brightwave",
            "Kestrel",
            "Orbital",
            "Quantum",
            "Evergreen",
            "Pinnacle",
            "Vertex",
            "Sterling",
            "Nimbus",
        ),
        ("Consulting", "Capital", "Technologies", "Partners", "Group", "Labs"),
        ("Office Manager", "HR Director", "Events Coordinator", "Procurement Manager", "Head of People"),
    ),
    (
        "Retail boutique",
        0.25,
        (
            "Maison",
            "Atelier",
            "Studio",
            "House of",
            "Little",
            "The Green",
            "Velvet",
            "Juniper",
            "Saffron",
            "Ivory",
        ),
        ("Boutique", "Concept Store", "Closet", "Collective", "Wardrobe", "Edit"),
        ("Store Owner", "Store Manager", "Buyer", "Visual Merchandiser"),
    ),
    (
        "Logistics",
        0.1,
        ("Swift", "Parcel", "Express", "Metro", "Cargo", "Relay", "Freight", "Courier"),
        ("Logistics", "Fulfilment", "Shipping", "Delivery Services"),
        ("Account Manager", "Operations Director", "Customer Success Manager"),
    ),
)
CITIES = (
    ("London", "GB"),
    ("Manchester", "GB"),
    ("New York", "US"),
    ("Los Angeles", "US"),
    ("Chicago", "US"),
    ("Paris", "FR"),
    ("Milan", "IT"),
    ("Berlin", "DE"),
    ("Copenhagen", "DK"),
    ("Amsterdam", "NL"),
    ("Barcelona", "ES"),
    ("Stockholm", "SE"),
)
STREETS = (
    "High Street",
    "Market Square",
    "King's Road",
    "Canal Street",
    "Mill Lane",
    "Station Road",
    "Park Avenue",
)
TAGS = (
    ("VIP", "warning"),
    ("newsletter", "info"),
    ("wholesale", "primary"),
    ("returns-risk", "danger"),
    ("sustainability", "success"),
    ("gift-buyer", "secondary"),
    ("first-order", "secondary"),
    ("lapsed", "dark"),
    ("influencer", "primary"),
)
LEAD_SOURCES_CONSUMER = (
    "Website",
    "Instagram",
    "TikTok",
    "Newsletter signup",
    "Google Ads",
    "Referral",
    "Pop-up store",
)
LEAD_SOURCES_B2B = ("Trade show", "Referral", "Website", "LinkedIn", "Outbound")
CONSUMER_STAGES = (("subscriber", 25), ("lead", 20), ("mql", 5), ("customer", 40), ("evangelist", 10))
B2B_STAGES = (
    ("lead", 20),
    ("mql", 15),
    ("sql", 20),
    ("opportunity", 20),
    ("customer", 20),
    ("evangelist", 5),
)
PRODUCTS = (
    "linen shirt",
    "wrap dress",
    "wool coat",
    "white sneakers",
    "denim jacket",
    "silk scarf",
    "leather boots",
    "cashmere jumper",
    "summer sandals",
    "tailored trousers",
)
CONSUMER_ACTIVITIES = (
    ("email", "in", "Where is my order?", "Asked for the tracking link of the last order."),
    ("email", "out", "Your {p} is back in stock", "Sent the restock notice with a size guide."),
    ("call", "in", "Sizing question about the {p}", "Advised one size up; customer will order today."),
    ("call", "in", "Return of a {p}", "Explained the free returns process and sent the label."),
    ("note", "", "", "Prefers contact by email; loves the {p} range."),
    ("note", "", "", "Complained about late delivery; offered 10% off the next order."),
    ("email", "out", "Styling suggestions", "Sent three outfits built around the {p}."),
    ("call", "out", "VIP preview invitation", "Invited to the private preview of the new collection."),
)
B2B_ACTIVITIES = (
    (
        "meeting",
        "",
        "Quarterly business review",
        "Went through sell-through, returns and next season's plan.",
    ),
    ("call", "out", "Wholesale order for the {p}", "Confirmed quantities and delivery window."),
    ("email", "out", "Line sheet for the new season", "Sent the line sheet and wholesale price list."),
    ("email", "in", "Request for samples", "Asked for samples of the {p} in three colours."),
    ("meeting", "", "Showroom visit", "Walked through the collection; strong interest in the {p}."),
    ("note", "", "", "Payment terms net 30 agreed; credit check passed."),
    ("call", "in", "Corporate gift order", "Wants 120 branded {p}s for the year-end party."),
)
TASK_TITLES = (
    "Follow up on the {p} order",
    "Send the new season line sheet",
    "Call back about the return",
    "Confirm the corporate gift quantities",
    "Book a showroom visit",
    "Send VIP preview invitation",
    "Check the delivery date with the warehouse",
    "Prepare the quarterly review",
)


def _weighted(rng: random.Random, pairs) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


# Saved views the demo users share (or keep), one per list page: (owner, list, name, shared, state).
DEMO_VIEWS = (
    ("sales", "contacts", "Customers", True,
     {"filters": {"lifecycle": "customer"}, "columns": ["email", "company", "owner", "tags", "last_activity"],
      "sort": "-last_activity", "per_page": 50}),
    ("sales", "contacts", "My leads", False,
     {"filters": {"owner": "me", "lifecycle": "lead"}, "columns": ["email", "phone", "company", "last_activity"],
      "sort": "name", "per_page": 25}),
    ("sales", "companies", "Wholesale accounts", True,
     {"filters": {"tag": "wholesale"}, "columns": ["domain", "contacts", "owner", "tags"], "sort": "name",
      "per_page": 25}),
    ("sales", "deals", "Won, latest first", True,
     {"filters": {"pipeline": "all", "status": "won"}, "columns": ["title", "company", "amount", "owner", "updated"],
      "sort": "-updated", "per_page": 25}),
    ("support", "tickets", "Urgent and unassigned", True,
     {"filters": {"view": "unassigned", "priority": "urgent"}, "columns": ["ticket", "customer", "sla", "updated"],
      "sort": "due", "per_page": 50}),
)  # fmt: skip


def _lists_demo(users: dict) -> None:
    """Company tags and a few saved views, so the list pages show what they can do (idempotent)."""
    if not Company.tags.through.objects.exists():
        tags = {name: Tag.objects.get_or_create(name=name)[0] for name in ("wholesale", "key account")}
        companies = list(Company.objects.order_by("id").values_list("pk", flat=True)[:300])
        Company.tags.through.objects.bulk_create(
            [Company.tags.through(company_id=pk, tag_id=tags["wholesale"].pk) for pk in companies[1::4]]
            + [Company.tags.through(company_id=pk, tag_id=tags["key account"].pk) for pk in companies[2::9]],
            ignore_conflicts=True,
        )
    for username, list_key, name, shared, state in DEMO_VIEWS:
        if username in users:
            SavedView.objects.get_or_create(
                owner=users[username],
                list_key=list_key,
                name=name,
                defaults={"shared": shared, "state": state},
            )


def demo_load(*, users: dict, stdout, contacts: int = 2000, companies: int = 300) -> None:
    with transaction.atomic():
        counts = _load(users=users, n_contacts=contacts, n_companies=companies)
        _lists_demo(users)
    if not any(counts.values()):
        stdout.write("contacts: demo data already present, nothing to do\n")
        return
    stdout.write(
        "contacts: {companies} companies, {contacts} contacts, {activities} activities, {tasks} tasks, "
        "{loyalty} loyalty members ({notes} ledger entries)\n".format(**counts)
    )


def _sellers(users: dict) -> list:
    return [users[name] for name in ("sales", "sales2", "sales3") if name in users]


def demo_company_domains(*, users: dict, count: int) -> list[str]:
    """Domains of the first `count` demo companies in the order they are generated (the marker first),
    whatever their ids: the pipeline demo gives its deals to these."""
    rows, _kinds = _companies_plan(rng=random.Random(SEED), users=users, sellers=_sellers(users), count=count)
    return [row.domain for row in rows]


def _companies_plan(*, rng: random.Random, users: dict, sellers: list, count: int) -> tuple[list, list]:
    # Companies: Modish itself (the marker) and its partners, suppliers, gifting clients and boutiques.
    company_rows = [
        Company(
            name="Modish",
            domain=MARKER_DOMAIN,
            industry="Online fashion retail",
            size=Company.Size.LARGE,
            address="1 Canal Street\nLondon",
            owner=users.get("admin"),
        )
    ]
    used_names = {"Modish"}
    kinds_for_company: list[tuple] = []
    while len(company_rows) < count:
        kind = rng.choices(COMPANY_KINDS, weights=[k[1] for k in COMPANY_KINDS])[0]
        industry, _, stems, suffixes, _ = kind
        name = f"{rng.choice(stems)} {rng.choice(suffixes)}"
        if name in used_names:
            name = f"{name} {rng.choice(CITIES)[0]}"
        if name in used_names:
            continue
        used_names.add(name)
        city, _country = rng.choice(CITIES)
        slug = "".join(ch for ch in name.lower().replace(" ", "-") if ch.isalnum() or ch == "-").strip("-")
        company_rows.append(
            Company(
                name=name,
                domain=f"{slug}.example",
                industry=industry,
                size=rng.choice(Company.Size.values),
                address=f"{rng.randint(1, 240)} {rng.choice(STREETS)}\n{city}",
                owner=rng.choice(sellers) if sellers and rng.random() < 0.9 else None,
            )
        )
        kinds_for_company.append(kind)
    return company_rows, kinds_for_company


def _load(*, users: dict, n_contacts: int, n_companies: int) -> dict:
    rng = random.Random(SEED)
    now = timezone.now()
    sellers = _sellers(users)
    support = [users[name] for name in ("support", "support2") if name in users] or sellers
    staff = sellers + support

    tags = {}
    for name, color in TAGS:
        tags[name], _ = Tag.objects.get_or_create(name=name, defaults={"color": color})

    company_rows, kinds_for_company = _companies_plan(
        rng=rng, users=users, sellers=sellers, count=n_companies
    )
    domains = [c.domain for c in company_rows]
    company_by_domain = dict(Company.objects.filter(domain__in=domains).values_list("domain", "pk"))
    new_companies = [c for c in company_rows if c.domain not in company_by_domain]
    Company.objects.bulk_create(new_companies, batch_size=500)
    company_by_domain = dict(Company.objects.filter(domain__in=domains).values_list("domain", "pk"))
    new_company_ids = {company_by_domain[c.domain] for c in new_companies}
    partner_companies = [
        (company_by_domain[c.domain], c, kind)
        for c, kind in zip(company_rows[1:], kinds_for_company, strict=True)
    ]

    # Contacts: mostly consumers, about a quarter B2B people at the companies above.
    used_emails: set[str] = set()
    contact_rows: list[Contact] = []
    is_consumer: list[bool] = []
    for i in range(n_contacts):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        b2b = partner_companies and rng.random() < 0.25
        if b2b:
            company_id, company, kind = rng.choice(partner_companies)
            base = f"{first}.{last}".lower()
            domain = company.domain
            title = rng.choice(kind[4])
            stage = _weighted(rng, B2B_STAGES)
            source = rng.choice(LEAD_SOURCES_B2B)
        else:
            company_id, title = None, ""
            base = rng.choice(
                (f"{first}.{last}", f"{first}{last[0]}", f"{first[0]}{last}", f"{first}_{last}")
            ).lower()
            domain = rng.choice(MAIL_DOMAINS)
            stage = _weighted(rng, CONSUMER_STAGES)
            source = rng.choice(LEAD_SOURCES_CONSUMER)
        email = f"{base}@{domain}"
        if email in used_emails:
            email = f"{base}{i}@{domain}"
        used_emails.add(email)
        phone = (
            f"+1{rng.choice((212, 310, 312, 415, 646, 718))}555{rng.randint(100, 199):04d}"
            if rng.random() < 0.6
            else ""
        )
        contact_rows.append(
            Contact(
                first_name=first,
                last_name=last,
                email=email,
                phone=phone,
                job_title=title,
                company_id=company_id,
                owner=rng.choice(sellers) if sellers and rng.random() < 0.92 else None,
                lifecycle_stage=stage,
                lead_source=source,
                search_text=search_text_for(
                    first_name=first,
                    last_name=last,
                    email=email,
                    phone=phone,
                    company_name=company.name if b2b else "",
                ),
            )  # fmt: skip
        )
        is_consumer.append(not b2b)

    def pks_by_email() -> dict[str, int]:
        found = Contact.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=used_emails)
        return dict(found.values_list("email_lower", "pk"))

    present = pks_by_email()
    new_contacts = [c for c in contact_rows if c.email not in present]
    Contact.objects.bulk_create(new_contacts, batch_size=500)
    pk_by_email = pks_by_email()
    created_stamps = []
    for contact in contact_rows:
        contact.pk = pk_by_email[contact.email]
        created = now - datetime.timedelta(days=rng.randint(1, 900), minutes=rng.randint(0, 1440))
        contact.created_at = created
        contact.updated_at = min(now, created + datetime.timedelta(days=rng.randint(0, 200)))
        created_stamps.append(created)
    Contact.objects.bulk_update(new_contacts, ["created_at", "updated_at"], batch_size=500)
    # Rows hanging off a contact are written for the contacts created now only; the random draws above
    # and below still run for every contact, so the new ones get the same data as on the first run.
    new_ids = {c.pk for c in new_contacts}

    # Tags.
    through = Contact.tags.through
    tag_links = []
    for contact, consumer in zip(contact_rows, is_consumer, strict=True):
        chosen = set()
        if consumer:
            if rng.random() < 0.45:
                chosen.add("newsletter")
            if contact.lifecycle_stage in ("customer", "evangelist") and rng.random() < 0.15:
                chosen.add("VIP")
            if rng.random() < 0.07:
                chosen.add("returns-risk")
            if rng.random() < 0.1:
                chosen.add(
                    rng.choice(("sustainability", "gift-buyer", "first-order", "lapsed", "influencer"))
                )
        else:
            if rng.random() < 0.5:
                chosen.add("wholesale")
            if rng.random() < 0.1:
                chosen.add("VIP")
        tag_links.extend(through(contact_id=contact.pk, tag_id=tags[name].pk) for name in sorted(chosen))
    tag_links = [link for link in tag_links if link.contact_id in new_ids]
    through.objects.bulk_create(tag_links, batch_size=1000)

    # Activities: a feed for about two thirds of the contacts, plus company-level meetings.
    activity_rows = []
    for contact, consumer, created in zip(contact_rows, is_consumer, created_stamps, strict=True):
        if rng.random() > 0.65:
            continue
        templates = CONSUMER_ACTIVITIES if consumer else B2B_ACTIVITIES
        for _ in range(rng.randint(1, 5)):
            kind, direction, subject, body = rng.choice(templates)
            product = rng.choice(PRODUCTS)
            span = max(1, (now - created).days)
            occurred = now - datetime.timedelta(
                days=rng.randint(0, min(span, 365)), minutes=rng.randint(0, 1440)
            )
            activity_rows.append(
                Activity(
                    kind=kind,
                    direction=direction,
                    subject=subject.format(p=product),
                    body=body.format(p=product),
                    occurred_at=occurred,
                    duration_minutes=rng.choice((5, 10, 15, 30))
                    if kind == "call"
                    else 45
                    if kind == "meeting"
                    else None,
                    contact_id=contact.pk,
                    company_id=contact.company_id,
                    author=contact.owner or (rng.choice(staff) if staff else None),
                )
            )
    for company_id, _company, _kind in partner_companies:
        if rng.random() < 0.4:
            kind, direction, subject, body = rng.choice(B2B_ACTIVITIES)
            product = rng.choice(PRODUCTS)
            activity_rows.append(
                Activity(
                    kind=kind,
                    direction=direction,
                    subject=subject.format(p=product),
                    body=body.format(p=product),
                    occurred_at=now - datetime.timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 23)),
                    company_id=company_id,
                    author=rng.choice(sellers) if sellers else None,
                )
            )
    activity_rows = [
        a
        for a in activity_rows
        if a.contact_id in new_ids or (a.contact_id is None and a.company_id in new_company_ids)
    ]
    Activity.objects.bulk_create(activity_rows, batch_size=1000)

    # Tasks: a realistic open/done mix, and a guaranteed set for "sales" (overdue, today, upcoming).
    task_rows = []
    owned = [c for c in contact_rows if c.owner_id]
    for _ in range(max(10, n_contacts // 5)):
        contact = rng.choice(owned or contact_rows)
        due = now + datetime.timedelta(days=rng.randint(-15, 30), hours=rng.randint(0, 8))
        done = (
            due - datetime.timedelta(hours=rng.randint(1, 48)) if due < now and rng.random() < 0.9 else None
        )
        task_rows.append(
            Task(
                title=rng.choice(TASK_TITLES).format(p=rng.choice(PRODUCTS)),
                due_at=due,
                done_at=done,
                assignee_id=contact.owner_id,
                created_by_id=contact.owner_id,
                contact_id=contact.pk,
            )
        )
    seller = users.get("sales")
    if seller is not None:
        mine = [c for c in contact_rows if c.owner_id == seller.pk] or contact_rows
        today_noon = now.replace(hour=17, minute=0, second=0, microsecond=0)
        for offset_hours in (-72, -26, -5, 0, 0, 26, 50, 120):
            contact = rng.choice(mine)
            due = today_noon + datetime.timedelta(hours=offset_hours) if offset_hours else today_noon
            task_rows.append(
                Task(
                    title=rng.choice(TASK_TITLES).format(p=rng.choice(PRODUCTS)),
                    due_at=due,
                    assignee=seller,
                    created_by=seller,
                    contact_id=contact.pk,
                )
            )
    task_rows = [t for t in task_rows if t.contact_id in new_ids]
    Task.objects.bulk_create(task_rows, batch_size=1000)

    # Loyalty: about 40% of consumers, each with a ledger whose deltas sum to the balance.
    accounts: list[LoyaltyAccount] = []
    ledgers: list[list[LoyaltyNote]] = []
    tier_path = ["bronze", "silver", "gold", "platinum"]
    for contact, consumer, created in zip(contact_rows, is_consumer, created_stamps, strict=True):
        if not consumer or rng.random() > 0.4:
            continue
        since = (created + datetime.timedelta(days=rng.randint(0, 60))).date()
        start = datetime.datetime.combine(since, datetime.time(12), tzinfo=datetime.UTC)
        balance, tier, when = 0, "bronze", start
        notes = [
            LoyaltyNote(kind="note", text="Enrolled in Style Rewards (Bronze).", created_at=when, author=None)
        ]
        for _ in range(rng.randint(1, 8)):
            when = min(now, when + datetime.timedelta(days=rng.randint(3, 90)))
            roll = rng.random()
            if roll < 0.65:
                delta = rng.randint(2, 60) * 10
                balance += delta
                notes.append(
                    LoyaltyNote(kind="earned", points_delta=delta, text="Order points", created_at=when)
                )
            elif roll < 0.85 and balance >= 100:
                delta = -rng.randint(1, balance // 100) * 100
                balance += delta
                notes.append(
                    LoyaltyNote(
                        kind="redeemed", points_delta=delta, text="Voucher at checkout", created_at=when
                    )
                )
            elif roll < 0.93 and tier != "platinum":
                new_tier = tier_path[tier_path.index(tier) + 1]
                notes.append(
                    LoyaltyNote(
                        kind="tier",
                        tier_from=tier,
                        tier_to=new_tier,
                        text="Spend threshold reached",
                        created_at=when,
                    )
                )
                tier = new_tier
            else:
                notes.append(
                    LoyaltyNote(
                        kind="note",
                        text=rng.choice(
                            (
                                "Birthday voucher sent.",
                                "Prefers SMS offers.",
                                "Asked about double points week.",
                            )
                        ),
                        created_at=when,
                        author=rng.choice(support) if support else None,
                    )
                )
        accounts.append(
            LoyaltyAccount(contact_id=contact.pk, tier=tier, points_balance=balance, member_since=since)
        )
        ledgers.append(notes)
    enrolled = set(
        LoyaltyAccount.objects.filter(contact_id__in=[a.contact_id for a in accounts]).values_list(
            "contact_id", flat=True
        )
    )
    kept = [(a, notes) for a, notes in zip(accounts, ledgers, strict=True) if a.contact_id not in enrolled]
    accounts, ledgers = [a for a, _ in kept], [notes for _, notes in kept]
    LoyaltyAccount.objects.bulk_create(accounts, batch_size=500)
    account_pk = dict(
        LoyaltyAccount.objects.filter(contact_id__in=[a.contact_id for a in accounts]).values_list(
            "contact_id", "pk"
        )
    )
    note_rows = []
    for account, notes in zip(accounts, ledgers, strict=True):
        for note in notes:
            note.account_id = account_pk[account.contact_id]
            note_rows.append(note)
    LoyaltyNote.objects.bulk_create(note_rows, batch_size=1000)

    # A few recently viewed contacts so the home page of "sales" is not empty.
    if seller is not None:
        viewed = [c for c in contact_rows if c.owner_id == seller.pk][:6]
        viewed = [c for c in viewed if c.pk in new_ids]
        RecentView.objects.bulk_create(
            [
                RecentView(user=seller, contact_id=c.pk, viewed_at=now - datetime.timedelta(hours=i * 5))
                for i, c in enumerate(viewed)
            ]
        )

    return {
        "companies": len(new_companies),
        "contacts": len(new_contacts),
        "activities": len(activity_rows),
        "tasks": len(task_rows),
        "loyalty": len(accounts),
        "notes": len(note_rows),
    }
