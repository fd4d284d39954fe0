"""Signals that hand CDP changes to higher apps (segments) without profiles importing them.

`profiles_changed` is sent after the commit of each processed batch with `profile_ids` (a sorted list of
ints): the profiles that received events or traits. Receivers should enqueue work, not do it inline.
"""

from django.dispatch import Signal

profiles_changed = Signal()
