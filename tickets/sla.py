"""The SLA clock: due times from the policy of a priority, pauses, breach and at-risk flags.

Targets are calendar time. The first-response clock runs from creation until the first public reply.
The resolution clock runs from creation until solved, stopped while the ticket is pending or on hold:
each finished pause moves `resolution_due_at` later by its length (and adds to `paused_seconds`);
during a pause `paused_at` is set and the remaining time is frozen at `resolution_due_at - paused_at`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q

from .models import DONE_STATUSES, PAUSED_STATUSES, Priority, SlaPolicy

# Used when no policy row exists for a priority (the migration seeds these; admins edit them).
DEFAULT_TARGETS: dict[str, tuple[int, int]] = {
    Priority.URGENT: (30, 4 * 60),
    Priority.HIGH: (2 * 60, 24 * 60),
    Priority.NORMAL: (8 * 60, 3 * 24 * 60),
    Priority.LOW: (24 * 60, 7 * 24 * 60),
}


def at_risk_window() -> timedelta:
    return timedelta(minutes=getattr(settings, "TICKETS_SLA_AT_RISK_MINUTES", 60))


def sla_targets(*, priority: str) -> tuple[int, int]:
    """(first response minutes, resolution minutes) for a priority."""
    policy = SlaPolicy.objects.filter(priority=priority).first()
    if policy is None:
        return DEFAULT_TARGETS[priority]
    return policy.first_response_minutes, policy.resolution_minutes


def sla_due_times(
    *, created_at: datetime, priority: str, paused_seconds: int = 0
) -> tuple[datetime, datetime]:
    first_minutes, resolution_minutes = sla_targets(priority=priority)
    return (
        created_at + timedelta(minutes=first_minutes),
        created_at + timedelta(minutes=resolution_minutes, seconds=paused_seconds),
    )


@dataclass(frozen=True)
class SlaClock:
    first_response_due_at: datetime | None
    first_response_breached: bool
    first_response_done: bool
    resolution_due_at: datetime | None
    resolution_breached: bool
    resolution_done: bool
    paused: bool
    remaining: timedelta | None  # to the next running target; negative when overdue; None when nothing runs
    at_risk: bool

    @property
    def breached(self) -> bool:
        return self.first_response_breached or self.resolution_breached

    @property
    def state(self) -> str:
        """One of: breached, at_risk, paused, running, done."""
        if self.breached and not (self.first_response_done and self.resolution_done):
            return "breached"
        if self.resolution_done:
            return "done"
        if self.paused:
            return "paused"
        return "at_risk" if self.at_risk else "running"

    @property
    def overdue(self) -> bool:
        return self.remaining is not None and self.remaining < timedelta(0)

    @property
    def target_label(self) -> str:
        return "First response" if not self.first_response_done else "Resolution"


def sla_clock(ticket, *, now: datetime) -> SlaClock:
    first_done = ticket.first_responded_at is not None or ticket.status in DONE_STATUSES
    first_stop = ticket.first_responded_at or ticket.solved_at or now
    first_due = ticket.first_response_due_at
    first_breached = first_due is not None and first_stop > first_due

    resolution_done = ticket.status in DONE_STATUSES
    paused = ticket.paused_at is not None
    resolution_stop = ticket.solved_at if resolution_done and ticket.solved_at else (ticket.paused_at or now)
    resolution_due = ticket.resolution_due_at
    resolution_breached = resolution_due is not None and resolution_stop > resolution_due

    remaining = None
    if not resolution_done:
        candidates = []
        if not first_done and first_due is not None:
            candidates.append(first_due - now)
        if resolution_due is not None:
            candidates.append(resolution_due - resolution_stop)
        remaining = min(candidates) if candidates else None
    at_risk = remaining is not None and not paused and timedelta(0) <= remaining <= at_risk_window()
    return SlaClock(
        first_response_due_at=first_due,
        first_response_breached=first_breached,
        first_response_done=first_done,
        resolution_due_at=resolution_due,
        resolution_breached=resolution_breached,
        resolution_done=resolution_done,
        paused=paused,
        remaining=remaining,
        at_risk=at_risk,
    )


def _open_q() -> Q:
    return ~Q(status__in=[s.value for s in DONE_STATUSES])


def breached_q(*, now: datetime) -> Q:
    """Unsolved tickets that missed a target: first response overdue or given late, resolution overdue
    (a paused ticket counts when it was paused after its due time)."""
    first = Q(first_responded_at__isnull=True, first_response_due_at__lt=now) | Q(
        first_responded_at__gt=F("first_response_due_at")
    )
    running = Q(paused_at__isnull=True, resolution_due_at__lt=now)
    paused_late = Q(paused_at__isnull=False, paused_at__gt=F("resolution_due_at"))
    return _open_q() & (first | running | paused_late)


def breaching_within_q(*, now: datetime, window: timedelta) -> Q:
    """Unsolved, running tickets whose next target falls due within the window (not yet breached)."""
    horizon = now + window
    first_soon = Q(
        first_responded_at__isnull=True, first_response_due_at__gte=now, first_response_due_at__lte=horizon
    )
    resolution_soon = Q(paused_at__isnull=True, resolution_due_at__gte=now, resolution_due_at__lte=horizon)
    paused = [s.value for s in PAUSED_STATUSES]
    return _open_q() & ~Q(status__in=paused) & (first_soon | resolution_soon) & ~breached_q(now=now)
