"""Signals that hand CDP changes to higher apps (segments) without profiles importing them.

`profiles_changed` is sent after the commit of each processed batch with `profile_ids` (a sorted list of
ints): the live profiles that received events or traits; `merged_profile_ids` lists the profiles merged
away in that batch (their identities and events now belong to a profile in `profile_ids`); an unmerge or a
contact link sends it too. An ingest batch adds `events_since`: the earliest timestamp of the events it stored
(None when it stored none), so a receiver can find them however late the batch was processed. Receivers
should enqueue work, not do it inline.
"""

from django.dispatch import Signal

profiles_changed = Signal()
