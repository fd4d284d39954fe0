"""Open pixel and click redirects of tracked messages: signed tokens, counters, and the CDP hand-off.

A token names a message (and a link position) and is signed with SECRET_KEY, so nobody can forge one; a
click redirects only to the URL stored for that position of that message, never to a URL taken from the
request (no open redirect). Each open or click is recorded in one transaction that also sends
`mail_engaged`, which profiles turns into an inbox batch (Email Opened / Email Link Clicked) in the same
transaction: the engagement and its CDP event are stored together or not at all.
"""

import html
import re

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from .models import MailEngagement, MailMessage, TrackedLink
from .signals import mail_engaged

URL_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""
_signer = signing.Signer(salt="cdpcrm.mail.tracking")


def urls_in(text: str) -> list[str]:
    found = []
    for match in URL_RE.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        if len(url) <= 2048 and url not in found:
            found.append(url)
    return found


def open_token(message_pk: int) -> str:
    return _signer.sign(f"o{message_pk}")


def click_token(message_pk: int, position: int) -> str:
    return _signer.sign(f"c{message_pk}.{position}")


def token_read(token: str) -> tuple[str, int, int | None] | None:
    """("open", message pk, None) or ("click", message pk, position); None for anything not ours."""
    try:
        value = _signer.unsign(token)
    except signing.BadSignature:
        return None
    match = re.fullmatch(r"o(\d+)|c(\d+)\.(\d+)", value)
    if match is None:
        return None
    if match.group(1):
        return "open", int(match.group(1)), None
    return "click", int(match.group(2)), int(match.group(3))


def links_create(message: MailMessage) -> list[TrackedLink]:
    return TrackedLink.objects.bulk_create(
        TrackedLink(message=message, position=i, url=url) for i, url in enumerate(urls_in(message.body_text))
    )


def html_body(message: MailMessage, links: list[TrackedLink]) -> str:
    """The HTML part of a tracked message: the text, its links through the click redirect, the pixel."""
    by_url = {link.url: link for link in links}
    parts, last = [], 0
    text = message.body_text
    for match in URL_RE.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        end = match.start() + len(url)
        parts.append(html.escape(text[last : match.start()]))
        link = by_url.get(url)
        href = (
            settings.SITE_URL + reverse("mail:track_click", args=[click_token(message.pk, link.position)])
            if link
            else url
        )
        parts.append(f'<a href="{html.escape(href)}">{html.escape(url)}</a>')
        last = end
    parts.append(html.escape(text[last:]))
    pixel = settings.SITE_URL + reverse("mail:track_open", args=[open_token(message.pk)])
    body = "".join(parts).replace("\n", "<br>\n")
    return (
        '<!doctype html><html><body style="font-family: sans-serif">'
        f'{body}<img src="{html.escape(pixel)}" width="1" height="1" alt="" style="display:none">'
        "</body></html>"
    )


def _announce(message: MailMessage, engagement: MailEngagement, url: str = "") -> None:
    mail_engaged.send(
        sender=MailMessage,
        kind=engagement.kind,
        engagement_id=engagement.pk,
        occurred_at=engagement.occurred_at,
        recipients=list(message.to),
        message_id=message.message_id,
        subject=message.subject,
        url=url,
        contact_ids=list(message.links.filter(deal_id__isnull=True).values_list("contact_id", flat=True)),
    )


@transaction.atomic
def open_record(*, message_pk: int) -> bool:
    now = timezone.now()
    updated = MailMessage.objects.filter(pk=message_pk, tracked=True).update(
        open_count=F("open_count") + 1, last_opened_at=now
    )
    if not updated:
        return False
    MailMessage.objects.filter(pk=message_pk, first_opened_at__isnull=True).update(first_opened_at=now)
    message = MailMessage.objects.get(pk=message_pk)
    engagement = MailEngagement.objects.create(
        message=message, kind=MailEngagement.Kind.OPEN, occurred_at=now
    )
    _announce(message, engagement)
    return True


@transaction.atomic
def click_record(*, message_pk: int, position: int) -> str | None:
    """The URL to redirect to (only one stored for this message), or None."""
    link = TrackedLink.objects.filter(message_id=message_pk, position=position, message__tracked=True).first()
    if link is None:
        return None
    now = timezone.now()
    TrackedLink.objects.filter(pk=link.pk).update(click_count=F("click_count") + 1, last_clicked_at=now)
    MailMessage.objects.filter(pk=message_pk).update(click_count=F("click_count") + 1, last_clicked_at=now)
    message = MailMessage.objects.get(pk=message_pk)
    engagement = MailEngagement.objects.create(
        message=message, kind=MailEngagement.Kind.CLICK, link=link, occurred_at=now
    )
    _announce(message, engagement, url=link.url)
    return link.url
