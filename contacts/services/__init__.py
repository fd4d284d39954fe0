"""Writes of the CRM core: contacts, companies, activities, tasks, loyalty (one module per record family).

Every function is one transaction, validates with full_clean() and announces changes that matter
to segments through `crm_changed_on_commit` (sent only once the transaction commits). Callers import
`contacts.services` and use the names below.
"""

from .activities import (
    activity_create,
    activity_update,
    task_complete,
    task_create,
    task_reopen,
    task_update,
)
from .bulk import company_bulk_delete, company_bulk_update, contact_bulk_delete, contact_bulk_update
from .common import tag_list_resolve
from .companies import company_create, company_delete, company_update
from .contacts import (
    contact_create,
    contact_delete,
    contact_mark_viewed,
    contact_tags_set,
    contact_update,
)
from .loyalty import (
    POINT_KINDS,
    loyalty_balance_matches_ledger,
    loyalty_enroll,
    loyalty_note_add,
    loyalty_points_add,
    loyalty_tier_change,
)

__all__ = [
    "POINT_KINDS",
    "activity_create",
    "activity_update",
    "company_bulk_delete",
    "company_bulk_update",
    "company_create",
    "company_delete",
    "company_update",
    "contact_bulk_delete",
    "contact_bulk_update",
    "contact_create",
    "contact_delete",
    "contact_mark_viewed",
    "contact_tags_set",
    "contact_update",
    "loyalty_balance_matches_ledger",
    "loyalty_enroll",
    "loyalty_note_add",
    "loyalty_points_add",
    "loyalty_tier_change",
    "tag_list_resolve",
    "task_complete",
    "task_create",
    "task_reopen",
    "task_update",
]
