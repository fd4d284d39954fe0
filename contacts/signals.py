"""Announcements of CRM changes, for listeners in higher apps (segments re-checks membership).

Lower apps never import the listeners: they call `crm_changed_on_commit(...)` from their services,
and the signal fires once the transaction commits (nothing fires for a rolled-back change).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.dispatch import Signal

# kwargs: contact_ids (list[int]), fact (str: "lifecycle", "owner", "tag", "loyalty", "deal", "ticket", ...)
crm_changed = Signal()


def crm_changed_on_commit(*, contact_ids: Iterable[int | None], fact: str) -> None:
    ids = sorted({cid for cid in contact_ids if cid is not None})
    if ids:
        transaction.on_commit(lambda: crm_changed.send(sender=None, contact_ids=ids, fact=fact))


# --- CRM changes recorded inside the transaction ---------------------------------------------------------
# Higher apps (outbound webhooks, journeys) register a recorder that runs INSIDE the transaction of the
# change, so what they write (an outbox row, an enrolment) commits or rolls back with the change itself.


@dataclass(frozen=True)
class CrmChange:
    topic: (
        str  # "contact.created", "contact.updated", "deal.won", "ticket.solved", "loyalty.tier_changed", ...
    )
    instance: Any  # the changed row (as it is after the change; before it, for a deletion)
    contact_ids: tuple[int, ...]
    data: dict  # facts for triggers, e.g. {"fields": {"lifecycle_stage": ["lead", "customer"]}}


_RECORDERS: list[Callable[[CrmChange], None]] = []


def crm_change_recorder_register(recorder: Callable[[CrmChange], None]) -> None:
    if recorder not in _RECORDERS:
        _RECORDERS.append(recorder)


def crm_change_record(
    *, topic: str, instance: Any, contact_ids: Iterable[int | None] = (), data: dict | None = None
) -> None:
    """Called by services of contacts, pipeline and tickets inside their transaction."""
    change = CrmChange(
        topic=topic,
        instance=instance,
        contact_ids=tuple(sorted({cid for cid in contact_ids if cid is not None})),
        data=data or {},
    )
    for recorder in _RECORDERS:
        recorder(change)
