"""Extension points of contacts.mail for the apps above it (contacts imports none of them).

- mailbox kinds: what happens to a synced mailbox's mail (sales logs it on contacts; tickets registers
  "support", which files it into tickets);
- contact resolvers: e-mail addresses -> contacts beyond `Contact.email` (profiles adds the addresses its
  identity graph knows for a contact);
- deal linkers: the open deals a message to or from a contact is logged on (pipeline);
- records: what an e-mail can be written from (a deal, a ticket) and the merge fields it brings;
- send guards: reasons not to send to a contact (consent, unsubscribe), asked before every send;
- users: what else sends with a template or a mailbox (a journey's e-mail step), so it is not deleted.
Each is registered in the higher app's AppConfig.ready().
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol


class MailHandler(Protocol):
    def plan(self, *, mailbox, folder, headers: list) -> dict[int, object]:
        """{uid: what to do} for the parsed headers whose whole message should be fetched and stored."""

    def store(self, *, mailbox, folder, mails: list, plan: dict[int, object]) -> None:
        """Store the fetched messages (ParsedMail, in UID order); runs inside the batch's transaction."""


@dataclass(frozen=True)
class MailboxKind:
    key: str  # Mailbox.purpose
    label: str
    handler: MailHandler
    manage_permission: str  # needed to connect and manage mailboxes of this kind
    personal: bool = False  # personal mailboxes are seen and managed by their owner only (and admins)
    # For shared mailboxes: (id, label) of what a mailbox can belong to (tickets: its teams).
    team_choices: Callable[[], list[tuple[int, str]]] | None = None
    sync_sent_folder: bool = False  # also read the Sent folder (a rep's mails to contacts)
    view_permission: str = ""  # who may read this kind's messages besides the records' readers


@dataclass(frozen=True)
class RecordContext:
    """A record an e-mail is written from: the recipient, merge fields, and where it is logged."""

    contact: object
    label: str
    url: str
    fields: dict = field(default_factory=dict)  # extra merge-field groups, e.g. {"deal": {"title": ...}}
    deal_id: int | None = None


@dataclass(frozen=True)
class RecordKind:
    key: str  # "deal", ...
    load: Callable[..., RecordContext | None]  # load(pk=..., user=...) -> context, or None if not allowed
    merge_fields: tuple[str, ...] = ()  # documented fields, e.g. ("deal.title", "deal.amount")


MAILBOX_KINDS: dict[str, MailboxKind] = {}
CONTACT_RESOLVERS: list[Callable[[set[str]], dict[str, int]]] = []
DEAL_LINKERS: list[Callable[[list[int]], dict[int, list[int]]]] = []
RECORD_KINDS: dict[str, RecordKind] = {}
SEND_GUARDS: list[Callable[..., str | None]] = []
USER_FINDERS: list[Callable[[str, int], list[str]]] = []


def mailbox_kind_register(kind: MailboxKind) -> None:
    MAILBOX_KINDS[kind.key] = kind


def contact_resolver_register(resolver: Callable[[set[str]], dict[str, int]]) -> None:
    """`resolver(emails)` -> {email: contact_id} for the lower-cased addresses it recognises."""
    if resolver not in CONTACT_RESOLVERS:
        CONTACT_RESOLVERS.append(resolver)


def deal_linker_register(linker: Callable[[list[int]], dict[int, list[int]]]) -> None:
    """`linker(contact_ids)` -> {contact_id: [open deal ids]}."""
    if linker not in DEAL_LINKERS:
        DEAL_LINKERS.append(linker)


def record_kind_register(kind: RecordKind) -> None:
    RECORD_KINDS[kind.key] = kind


def send_guard_register(guard: Callable[..., str | None]) -> None:
    """`guard(contact=..., purpose=...)` -> a reason the e-mail must not go out, or None."""
    if guard not in SEND_GUARDS:
        SEND_GUARDS.append(guard)


def users_register(finder: Callable[[str, int], list[str]]) -> None:
    """`finder(kind, pk)` -> names of what uses the "template" or "mailbox" `pk`, e.g. ["Journey “Welcome”"]."""
    if finder not in USER_FINDERS:
        USER_FINDERS.append(finder)


def users_of(kind: str, pk: int) -> list[str]:
    return [name for finder in USER_FINDERS for name in finder(kind, pk)]


def deals_for_contacts(contact_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = sorted(set(contact_ids))
    found: dict[int, list[int]] = {}
    if not ids:
        return found
    for linker in DEAL_LINKERS:
        for contact_id, deal_ids in linker(ids).items():
            found.setdefault(contact_id, [])
            found[contact_id].extend(d for d in deal_ids if d not in found[contact_id])
    return found
