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


# Who else uses a segment (a journey's trigger, branch, goal or exit): `users(segment_ids)` ->
# {segment id: ["Journey “Welcome series”", ...]}; a segment with users cannot be deleted.
_USER_FINDERS: list[Callable] = []


def segment_users_register(finder: Callable) -> None:
    if finder not in _USER_FINDERS:
        _USER_FINDERS.append(finder)


def segment_users(segment_ids: set[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {pk: [] for pk in segment_ids}
    for finder in _USER_FINDERS:
        for segment_id, labels in finder(segment_ids).items():
            found[segment_id] += labels
    return found
