"""Announcements of CRM changes, for listeners in higher apps (segments re-checks membership).

Lower apps never import the listeners: they call `crm_changed_on_commit(...)` from their services,
and the signal fires once the transaction commits (nothing fires for a rolled-back change).
"""

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

# kwargs: contact_ids (list[int]), fact (str: "lifecycle", "owner", "tag", "loyalty", "deal", "ticket", ...)
crm_changed = Signal()


def crm_changed_on_commit(*, contact_ids: Iterable[int | None], fact: str) -> None:
    ids = sorted({cid for cid in contact_ids if cid is not None})
    if ids:
        transaction.on_commit(lambda: crm_changed.send(sender=None, contact_ids=ids, fact=fact))
