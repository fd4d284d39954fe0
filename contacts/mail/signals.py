"""Announcements of e-mail engagement for higher apps (profiles records them as CDP events).

`mail_engaged` is sent INSIDE the transaction that records an open or a click, so a receiver that stores
something (an inbox batch) commits or rolls back with it. kwargs: kind ("open" | "click"), engagement_id
(int, unique per hit), occurred_at (aware datetime), recipients (list of e-mail addresses), message_id
(RFC 5322 id, without <>), subject, url (the clicked URL or ""), contact_ids (contacts the message is on).
"""

from django.dispatch import Signal

mail_engaged = Signal()
