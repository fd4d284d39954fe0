"""Demo e-mail: demo mailboxes (no real server, shown as such), templates, a signature, and a mailbox-like
history of threads with a few contacts, logged through the same code as a real sync."""

from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact

from .models import EmailTemplate, Mailbox, MailMessage, Signature
from .parse import message_parse
from .registry import MAILBOX_KINDS
from .sales import SalesHandler
from .services import signature_set
from .tracking import click_record, links_create, open_record

DEMO_HOST = "imap.demo.invalid"  # .invalid never resolves: the record points at no real server
TEMPLATES = (
    (
        "Follow-up after a call",
        "Following up on our call",
        'Hi {{ contact.first_name|default:"there" }},\n\nthanks for your time today. As promised, here is a summary '
        'of what we discussed for {{ company.name|default:"your team" }}.\n\nBest,\n{{ sender.first_name }}',
    ),
    (
        "Quote for a deal",
        "Your quote: {{ deal.title }}",
        'Hi {{ contact.first_name|default:"there" }},\n\nplease find the quote for {{ deal.title }} '
        "({{ deal.amount }}). It is valid for 30 days.\n\n{{ sender.full_name }}",
    ),
    (
        "Support: we are on it",
        "We are on it ({{ ticket.reference }})",
        'Hi {{ contact.first_name|default:"there" }},\n\nthanks for reaching out about "{{ ticket.subject }}". '
        "We are looking into it and will write again within a day.",
    ),
)
THREADS = (
    # (subject, [(direction, days ago, text)], tracked, attachment)
    (
        "Autumn wholesale order",
        [
            ("in", 12, "Hello, could you send us the autumn wholesale catalogue and your volume prices?"),
            (
                "out",
                11,
                "Of course! The catalogue is at https://modish.example/wholesale/autumn - prices inside.",
            ),
            ("in", 9, "Thanks. We would like 40 coats in three sizes. Can you confirm delivery by October?"),
            ("out", 8, "Confirmed for October 14. I have attached the order confirmation."),
        ],
        True,
        True,
    ),
    (
        "Store opening event",
        [
            (
                "out",
                6,
                "We would love to have you at our Canal Street opening. RSVP: https://modish.example/rsvp",
            ),
            ("in", 5, "Count us in, two people."),
        ],
        True,
        False,
    ),
    (
        "Invoice question",
        [("in", 3, "Our invoice 2291 shows the old address; could you correct it?")],
        False,
        False,
    ),
)


def _raw(
    *, sender: str, to: str, subject: str, text: str, when, message_id: str, parent: str, attach: bool
) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"], msg["Message-ID"] = format_datetime(when), f"<{message_id}>"
    if parent:
        msg["In-Reply-To"], msg["References"] = f"<{parent}>", f"<{parent}>"
    msg.set_content(text)
    if attach:
        msg.add_attachment(
            b"%PDF-1.4\n% demo order confirmation\n",
            maintype="application",
            subtype="pdf",
            filename="order-confirmation.pdf",
        )
    return msg.as_bytes()


def _history(mailbox: Mailbox, contacts: list[Contact]) -> int:
    now = timezone.now()
    handler = SalesHandler()
    count = 0
    for n, contact in enumerate(contacts):
        subject, steps, tracked, attach = THREADS[n % len(THREADS)]
        parent = ""
        for i, (direction, days, text) in enumerate(steps):
            message_id = f"demo-{contact.pk}-{i}@{mailbox.email_address.rpartition('@')[2]}"
            sender, to = (
                (contact.email, mailbox.email_address)
                if direction == "in"
                else (mailbox.email_address, contact.email)
            )
            raw = _raw(
                sender=sender,
                to=to,
                subject=subject if i == 0 else f"Re: {subject}",
                text=text,
                when=now - timedelta(days=days, hours=n),
                message_id=message_id,
                parent=parent,
                attach=attach and i == len(steps) - 1,
            )
            parsed = message_parse(raw, uid=count + 1)
            handler.store(
                mailbox=mailbox, folder=None, mails=[parsed], plan={parsed.headers.uid: [contact.pk]}
            )
            stored = MailMessage.objects.get(mailbox=mailbox, message_id=message_id)
            if direction == "out":
                MailMessage.objects.filter(pk=stored.pk).update(
                    status=MailMessage.Status.SENT, tracked=tracked
                )
                if tracked:
                    stored.refresh_from_db()
                    links = links_create(stored)
                    for _ in range(1 + i):
                        open_record(message_pk=stored.pk)
                    if links:
                        click_record(message_pk=stored.pk, position=0)
            parent = message_id
            count += 1
    return count


def demo_load(*, users: dict, stdout) -> None:
    """Creates the demo mailboxes, templates and signature that are missing (a mailbox with its history),
    so a second run creates nothing and deleted demo rows come back."""
    sales = users["sales"]
    made = []
    with transaction.atomic():
        mailbox, created = Mailbox.objects.get_or_create(
            name="Sam's mailbox (demo)",
            is_demo=True,
            defaults={
                "purpose": Mailbox.Purpose.SALES,
                "owner": sales,
                "email_address": sales.email or "sam@modish-hq.example",
                "from_name": sales.get_full_name(),
                "imap_host": DEMO_HOST,
                "smtp_host": "smtp.demo.invalid",
                "internal_domains": "modish-hq.example",
                "track_by_default": True,
            },
        )
        messages, contacts = 0, []
        if created:
            made.append("1 demo mailbox (no real server)")
            contacts = list(
                Contact.objects.filter(owner=sales)
                .exclude(email="")
                .exclude(email__endswith="@modish-hq.example")
                .order_by("pk")[:5]
            )
            messages = _history(mailbox, contacts)
            made.append(f"{messages} e-mails on {len(contacts)} contacts")
        support = MAILBOX_KINDS.get(Mailbox.Purpose.SUPPORT)
        teams = support.team_choices() if support and support.team_choices else []
        if teams and "support" in users:
            _inbox, created = Mailbox.objects.get_or_create(
                name="Returns inbox (demo)",
                is_demo=True,
                defaults={
                    "purpose": Mailbox.Purpose.SUPPORT,
                    "owner": users["support"],
                    "team_id": teams[0][0],
                    "email_address": "returns@modish-hq.example",
                    "from_name": f"Modish {teams[0][1]}",
                    "imap_host": DEMO_HOST,
                },
            )
            if created:
                made.append("the returns inbox")
        templates = sum(
            EmailTemplate.objects.get_or_create(name=name, defaults={"subject": subject, "body": body})[1]
            for name, subject, body in TEMPLATES
        )
        if templates:
            made.append(f"{templates} templates")
        if not Signature.objects.filter(user=sales).exists():
            signature_set(user=sales, text=f"{sales.get_full_name()} · Wholesale, Modish\n+44 20 7946 0000")
    if not made:
        stdout.write("mail: demo data already present, nothing to do\n")
        return
    stdout.write(f"mail: {', '.join(made)}\n")
