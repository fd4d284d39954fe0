"""Unsubscribing from automated e-mail: the signed link and List-Unsubscribe headers, and the opt-out list.

A journey e-mail carries a link (and RFC 2369 / RFC 8058 headers) with a token that names the message and is
signed with SECRET_KEY, so nobody can unsubscribe an address they did not receive mail for. Opening the link
shows a page with one button (mail scanners that follow links do not unsubscribe anybody); the button and a
mail client's one-click POST record the opt-out. The list is asked through `addresses_unsubscribed`; deciding
who may be e-mailed is the caller's (segments.consent for journeys).
"""

import re
from collections.abc import Iterable

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse

from .models import MailMessage, MessageLink, Unsubscribe

_signer = signing.Signer(salt="cdpcrm.mail.unsubscribe")


def unsubscribe_token(message_pk: int) -> str:
    return _signer.sign(f"u{message_pk}")


def unsubscribe_url(message_pk: int) -> str:
    return settings.SITE_URL + reverse("mail:unsubscribe", args=[unsubscribe_token(message_pk)])


def unsubscribe_message(token: str) -> MailMessage | None:
    """The message a token was made for; None for anything not ours."""
    try:
        value = _signer.unsign(token)
    except signing.BadSignature:
        return None
    match = re.fullmatch(r"u(\d+)", value)
    if match is None:
        return None
    return MailMessage.objects.filter(pk=int(match.group(1)), unsubscribe_link=True).first()


def addresses_unsubscribed(emails: Iterable[str]) -> set[str]:
    """The lower-cased addresses among `emails` that unsubscribed (one query)."""
    wanted = {e.strip().lower() for e in emails if e}
    if not wanted:
        return set()
    return set(Unsubscribe.objects.filter(email__in=wanted).values_list("email", flat=True))


def unsubscribe_record(*, message: MailMessage, source: str) -> list[str]:
    """Put the message's recipients on the opt-out list (again is a no-op); returns their addresses."""
    contact_id = (
        MessageLink.objects.filter(message=message, deal_id__isnull=True)
        .values_list("contact_id", flat=True)
        .first()
    )
    addresses = [a.strip().lower() for a in message.to if a and a.strip()]
    for address in addresses:
        try:
            with transaction.atomic():
                Unsubscribe.objects.get_or_create(
                    email=address, defaults={"contact_id": contact_id, "message": message, "source": source}
                )
        except IntegrityError:  # the same address from two clicks at once: it is on the list either way
            pass
    return addresses
