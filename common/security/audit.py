"""audit_record: one line at each sensitive action writes one append-only AuditEntry."""

from .models import AuditEntry


def audit_record(*, actor, action: str, target: str = "", detail: dict | None = None) -> AuditEntry:
    """Record `action` on `target` by `actor` (a user, or None for the system/anonymous)."""
    if action not in AuditEntry.Action.values:
        raise ValueError(f"Unknown audit action {action!r}.")
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "",
        action=action,
        target=str(target)[:255],
        detail=detail or {},
    )
