"""Extension points of segment evaluation for the sub-apps (journeys, webhooks, audiences).

A hook runs INSIDE the evaluation's transaction with the profiles that entered and left, so whatever it
writes (enrolments, outbox rows, audience changes) commits with the membership change or not at all.
"""

from collections.abc import Callable

_MOVE_HOOKS: list[Callable] = []


def segment_moves_register(hook: Callable) -> None:
    """`hook(segment=..., enter_ids=[...], exit_ids=[...], now=...)`."""
    if hook not in _MOVE_HOOKS:
        _MOVE_HOOKS.append(hook)


def segment_moves_notify(*, segment, enter_ids: list[int], exit_ids: list[int], now) -> None:
    for hook in _MOVE_HOOKS:
        hook(segment=segment, enter_ids=enter_ids, exit_ids=exit_ids, now=now)
