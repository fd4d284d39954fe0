"""Writes on mailboxes and signatures: connect, edit (passwords encrypted, never read back), pause, check."""

import re
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from .crypto import secret_encrypt
from .imap import MailServerError, imap_check
from .models import Mailbox, Security, Signature
from .registry import MAILBOX_KINDS, users_of
from .smtp import smtp_check

HOST_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$"
)
MAILBOX_FIELDS = (
    "name",
    "purpose",
    "team_id",
    "email_address",
    "from_name",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "internal_domains",
    "privacy",
    "track_by_default",
)


def mailbox_can_manage(*, user, mailbox: Mailbox | None = None, purpose: str | None = None) -> bool:
    if user.is_superuser:
        return True
    kind = MAILBOX_KINDS.get(purpose or (mailbox.purpose if mailbox else ""))
    if kind is None or not user.has_perm(kind.manage_permission):
        return False
    if mailbox is not None and kind.personal:
        return mailbox.owner_id == user.pk
    return True


def _check_host(value: str, field: str, errors: dict, required: bool) -> None:
    if not value:
        if required:
            errors[field] = "Give the server's name, e.g. imap.gmail.com."
    elif not HOST_RE.match(value):
        errors[field] = f"{value[:60]!r} is not a server name (no scheme, no port: e.g. imap.gmail.com)."


@transaction.atomic
def mailbox_save(
    *, user, mailbox: Mailbox | None = None, imap_password: str = "", smtp_password: str = "", **fields
) -> Mailbox:
    """Create or update a mailbox; an empty password keeps the saved one. Every invalid field is reported."""
    unknown = set(fields) - set(MAILBOX_FIELDS)
    if unknown:
        raise TypeError(f"unknown mailbox fields: {', '.join(sorted(unknown))}")
    creating = mailbox is None
    mailbox = mailbox or Mailbox(owner=user)
    for name, value in fields.items():
        setattr(mailbox, name, value.strip() if isinstance(value, str) else value)
    mailbox.email_address = mailbox.email_address.lower()
    mailbox.imap_host, mailbox.smtp_host = mailbox.imap_host.lower(), mailbox.smtp_host.lower()
    errors: dict[str, str] = {}
    kind = MAILBOX_KINDS.get(mailbox.purpose)
    if kind is None:
        errors["purpose"] = "Choose what the mailbox is for."
    elif not mailbox_can_manage(user=user, mailbox=None if creating else mailbox, purpose=mailbox.purpose):
        raise PermissionDenied("You cannot manage this kind of mailbox.")
    if kind is not None and kind.personal:
        mailbox.team_id = None
    elif kind is not None and kind.team_choices is not None:
        teams = dict(kind.team_choices())
        if mailbox.team_id is not None and mailbox.team_id not in teams:
            errors["team_id"] = "Choose one of the teams."
        elif (
            mailbox.team_id
            and Mailbox.objects.filter(team_id=mailbox.team_id).exclude(pk=mailbox.pk).exists()
        ):
            errors["team_id"] = f"{teams[mailbox.team_id]} already has a mailbox."
    if not mailbox.name:
        errors["name"] = "Give the mailbox a name."
    try:
        validate_email(mailbox.email_address)
    except ValidationError:
        errors["email_address"] = "Give the mailbox's e-mail address, e.g. sam@example.com."
    _check_host(mailbox.imap_host, "imap_host", errors, required=True)
    _check_host(mailbox.smtp_host, "smtp_host", errors, required=False)
    for field in ("imap_port", "smtp_port"):
        port = getattr(mailbox, field)
        if not isinstance(port, int) or not 1 <= port <= 65535:
            errors[field] = "A port is a number from 1 to 65535."
    for field in ("imap_security", "smtp_security"):
        if getattr(mailbox, field) not in Security.values:
            errors[field] = "Choose TLS, STARTTLS or none."
    if creating and not imap_password:
        errors["imap_password"] = "Give the password or app password of the mailbox."  # noqa: S105
    if mailbox.privacy not in Mailbox.Privacy.values:
        errors["privacy"] = "Choose what is logged."
    for domain in mailbox.internal_domain_list:
        if not HOST_RE.match(domain):
            errors["internal_domains"] = f"{domain[:60]!r} is not a domain (e.g. example.com)."
            break
    if errors:
        raise ValidationError(errors)
    if creating and not smtp_password:
        smtp_password = imap_password  # most providers use one (app) password for both
    if imap_password:
        mailbox.imap_password = secret_encrypt(imap_password)
    if smtp_password:
        mailbox.smtp_password = secret_encrypt(smtp_password)
    if not creating:
        # New settings deserve a fresh try now, not after the backoff of the old error.
        mailbox.next_poll_at = timezone.now()
    mailbox.save()
    return mailbox


@transaction.atomic
def mailbox_pause(*, mailbox: Mailbox, paused: bool) -> Mailbox:
    mailbox.paused = paused
    mailbox.next_poll_at = timezone.now()
    mailbox.save(update_fields=["paused", "next_poll_at", "updated_at"])
    return mailbox


@transaction.atomic
def mailbox_delete(*, mailbox: Mailbox) -> None:
    """The mailbox and its sync state go; what was logged on contacts (activities) stays. A mailbox that
    something else sends with (a journey's e-mail step) is kept: ValidationError names the users."""
    users = users_of("mailbox", mailbox.pk)
    if users:
        raise ValidationError(
            f"{mailbox.name} sends the e-mails of {', '.join(users)}; choose another mailbox there first."
        )
    mailbox.delete()


@dataclass(frozen=True)
class CheckLine:
    service: str
    ok: bool
    text: str


def mailbox_check(*, mailbox: Mailbox) -> list[CheckLine]:
    """Try IMAP and SMTP with the saved settings; each line is what the server said, in words."""
    if mailbox.is_demo:
        return [CheckLine("Demo", False, "This is a demo mailbox: it points at no real server.")]
    lines = []
    for service, check, configured in (
        ("IMAP", imap_check, bool(mailbox.imap_host)),
        ("SMTP", smtp_check, bool(mailbox.smtp_host)),
    ):
        if not configured:
            lines.append(CheckLine(service, False, f"No {service} server is set."))
            continue
        try:
            lines.append(CheckLine(service, True, check(mailbox)))
        except MailServerError as exc:
            lines.append(CheckLine(service, False, str(exc)))
    return lines


@transaction.atomic
def signature_set(*, user, text: str) -> Signature:
    text = text.replace("\x00", "").strip()
    if len(text) > 2000:
        raise ValidationError({"text": "Keep the signature under 2,000 characters."})
    signature, _ = Signature.objects.update_or_create(user=user, defaults={"text": text})
    return signature
