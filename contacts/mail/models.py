"""Mailboxes and their folders' sync state, stored messages, attachments, links, templates, signatures and
unsubscribed addresses."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from contacts.models import Activity, Contact


class Security(models.TextChoices):
    SSL = "ssl", "TLS (implicit, e.g. IMAP 993 / SMTP 465)"
    STARTTLS = "starttls", "STARTTLS (e.g. IMAP 143 / SMTP 587)"
    NONE = "none", "None (plain text; only on a trusted network)"


class Mailbox(models.Model):
    """A connected mailbox: IMAP for reading, SMTP for sending; passwords are Fernet tokens (crypto.py)."""

    class Purpose(models.TextChoices):
        SALES = "sales", "Sales"
        SUPPORT = "support", "Support"

    class Privacy(models.TextChoices):
        SUBJECT = "subject", "Log the subject only"
        BODY = "body", "Log the subject and the body"

    name = models.CharField(max_length=120)
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.SALES)
    # Sales: the rep whose mailbox it is. Support: who connected it (told when it breaks).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="mailboxes"
    )
    # Generic attachment point for the app that handles support mail (a tickets Team) without importing it.
    team_id = models.BigIntegerField(null=True, blank=True)
    email_address = models.EmailField(max_length=254)
    from_name = models.CharField(max_length=120, blank=True, default="")

    imap_host = models.CharField(max_length=253, blank=True, default="")
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(max_length=10, choices=Security.choices, default=Security.SSL)
    imap_username = models.CharField(max_length=254, blank=True, default="")
    imap_password = models.TextField(blank=True, default="", help_text="Fernet token; never shown.")
    smtp_host = models.CharField(max_length=253, blank=True, default="")
    smtp_port = models.PositiveIntegerField(default=587)
    smtp_security = models.CharField(max_length=10, choices=Security.choices, default=Security.STARTTLS)
    smtp_username = models.CharField(max_length=254, blank=True, default="")
    smtp_password = models.TextField(blank=True, default="", help_text="Fernet token; never shown.")

    internal_domains = models.TextField(
        blank=True, default="", help_text="Domains of colleagues, one per line or comma-separated."
    )
    privacy = models.CharField(max_length=10, choices=Privacy.choices, default=Privacy.BODY)
    track_by_default = models.BooleanField(default=False)
    paused = models.BooleanField(default=False)
    # Demo data: a record that points at no real server; polling and sending say so instead of trying.
    is_demo = models.BooleanField(default=False)

    next_poll_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    failure_count = models.PositiveIntegerField(default=0)
    alert_task_id = models.BigIntegerField(null=True, blank=True)  # the owner's open "mailbox broken" task
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "mailboxes"
        constraints = [
            models.UniqueConstraint(
                fields=["team_id"], condition=models.Q(team_id__isnull=False), name="mailbox_one_per_team"
            ),
            models.CheckConstraint(
                condition=models.Q(purpose="support") | models.Q(team_id__isnull=True),
                name="mailbox_team_only_for_support",
            ),
        ]
        indexes = [models.Index(fields=["paused", "next_poll_at"], name="mailbox_poll_due_idx")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email_address}>"

    def get_absolute_url(self) -> str:
        return reverse("mail:mailbox_detail", args=[self.pk])

    @property
    def can_send(self) -> bool:
        return bool(self.smtp_host) and not self.is_demo

    @property
    def can_read(self) -> bool:
        return bool(self.imap_host) and not self.is_demo

    @property
    def internal_domain_list(self) -> list[str]:
        raw = self.internal_domains.replace(",", "\n").replace(";", "\n")
        return [d.strip().lower().lstrip("@") for d in raw.splitlines() if d.strip()]


class MailFolder(models.Model):
    """IMAP sync state of one folder: UIDVALIDITY and the highest UID stored, so nothing is fetched twice."""

    class Role(models.TextChoices):
        INBOX = "inbox", "Inbox"
        SENT = "sent", "Sent"

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(max_length=255)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.INBOX)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    # Progress of the current catch-up: messages found above last_uid when it started, and done since.
    backlog_total = models.PositiveIntegerField(default=0)
    backlog_done = models.PositiveIntegerField(default=0)
    uidvalidity_changes = models.PositiveIntegerField(default=0)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["mailbox", "role", "name"]
        constraints = [models.UniqueConstraint(fields=["mailbox", "name"], name="mailfolder_unique_name")]

    def __str__(self) -> str:
        return f"{self.mailbox.name}: {self.name}"

    @property
    def backlog_left(self) -> int:
        return max(self.backlog_total - self.backlog_done, 0)

    @property
    def progress_percent(self) -> int:
        if not self.backlog_total:
            return 100
        return min(100, int(self.backlog_done * 100 / self.backlog_total))


class MailMessage(models.Model):
    """One e-mail kept on the record: synced from a mailbox (in or out) or sent from the CRM."""

    class Direction(models.TextChoices):
        INBOUND = "in", "Received"
        OUTBOUND = "out", "Sent"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        IGNORED = "ignored", "Not filed"  # support: an auto-reply, a bounce or our own mail
        QUEUED = "queued", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Not sent"

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="messages")
    folder = models.ForeignKey(MailFolder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    uid = models.BigIntegerField(null=True, blank=True)
    message_id = models.CharField(max_length=255)  # RFC 5322 Message-ID without <>
    thread_key = models.CharField(max_length=255, db_index=True)  # Message-ID of the thread's first message
    in_reply_to = models.CharField(max_length=255, blank=True, default="")
    references = models.TextField(blank=True, default="")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    subject = models.CharField(max_length=255, blank=True, default="")
    from_email = models.CharField(max_length=254, blank=True, default="")
    from_name = models.CharField(max_length=200, blank=True, default="")
    to = models.JSONField(default=list, blank=True)
    cc = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField()
    body_text = models.TextField(blank=True, default="")
    body_kept = models.BooleanField(default=True)  # False: the mailbox logs subjects only
    size = models.PositiveIntegerField(default=0)
    auto_kind = models.CharField(max_length=20, blank=True, default="")  # "auto-reply", "bounce", ...
    note = models.CharField(max_length=500, blank=True, default="")  # what could not be read, and why
    # Sending
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    send_error = models.TextField(blank=True, default="")
    send_attempts = models.PositiveSmallIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Tracking (opt-in per message)
    tracked = models.BooleanField(default=False)
    # Marketing mail (journeys): a signed unsubscribe link in the body and List-Unsubscribe headers.
    unsubscribe_link = models.BooleanField(default=False)
    open_count = models.PositiveIntegerField(default=0)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)
    click_count = models.PositiveIntegerField(default=0)
    last_clicked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "message_id"], name="mailmessage_unique_per_mailbox")
        ]
        indexes = [
            models.Index(fields=["message_id"], name="mailmessage_message_id_idx"),
            models.Index(fields=["mailbox", "-sent_at"], name="mailmessage_mailbox_time_idx"),
            models.Index(fields=["status", "created_at"], name="mailmessage_status_idx"),
            models.Index(fields=["mailbox", "status", "-id"], name="mailmessage_mailbox_status_idx"),
        ]

    def __str__(self) -> str:
        return self.subject or "(no subject)"

    def get_absolute_url(self) -> str:
        return reverse("mail:message_detail", args=[self.pk])


class MailAttachment(models.Model):
    message = models.ForeignKey(MailMessage, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="mail/%Y/%m/", max_length=255, blank=True, default="")
    note = models.CharField(max_length=200, blank=True, default="")  # why the content was not kept

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def kept(self) -> bool:
        return bool(self.file)


class MessageLink(models.Model):
    """Where a message is logged: on a contact (with its activity) and on open deals of that contact."""

    message = models.ForeignKey(MailMessage, on_delete=models.CASCADE, related_name="links")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="mail_links")
    activity = models.OneToOneField(
        Activity, null=True, blank=True, on_delete=models.SET_NULL, related_name="mail_link"
    )
    deal_id = models.BigIntegerField(null=True, blank=True)  # set on the rows that log it on a deal

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "contact"],
                condition=models.Q(deal_id__isnull=True),
                name="messagelink_contact_once",
            ),
            models.UniqueConstraint(
                fields=["message", "deal_id"],
                condition=models.Q(deal_id__isnull=False),
                name="messagelink_deal_once",
            ),
        ]
        indexes = [
            models.Index(fields=["contact", "message"], name="messagelink_contact_idx"),
            models.Index(fields=["deal_id", "message"], name="messagelink_deal_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} on contact {self.contact_id}" + (
            f", deal {self.deal_id}" if self.deal_id else ""
        )


class TrackedLink(models.Model):
    """A URL of a tracked message: the click redirect goes only to these (no open redirect)."""

    message = models.ForeignKey(MailMessage, on_delete=models.CASCADE, related_name="tracked_links")
    position = models.PositiveSmallIntegerField()
    url = models.URLField(max_length=2048)
    click_count = models.PositiveIntegerField(default=0)
    last_clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["message", "position"], name="trackedlink_unique")]

    def __str__(self) -> str:
        return self.url


class MailEngagement(models.Model):
    """One open or click of a tracked message (its id makes the CDP event's messageId)."""

    class Kind(models.TextChoices):
        OPEN = "open", "Opened"
        CLICK = "click", "Clicked"

    message = models.ForeignKey(MailMessage, on_delete=models.CASCADE, related_name="engagements")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    link = models.ForeignKey(TrackedLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["message", "-occurred_at"], name="mailengagement_message_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.message_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class MailProblem(models.Model):
    """A message the sync could not read (or store); listed on the mailbox page with the reason."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="problems")
    folder_name = models.CharField(max_length=255)
    uid = models.BigIntegerField()
    subject = models.CharField(max_length=255, blank=True, default="")
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["mailbox", "-created_at"], name="mailproblem_mailbox_idx")]

    def __str__(self) -> str:
        return f"{self.folder_name} UID {self.uid}: {self.reason}"


class EmailTemplate(models.Model):
    """An admin-managed e-mail with merge fields such as {{ contact.first_name }} (render.py)."""

    name = models.CharField(max_length=120, unique=True)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Signature(models.Model):
    """A user's e-mail signature, added under every message they send."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_signature"
    )
    text = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Signature of {self.user}"


class Unsubscribe(models.Model):
    """An address that asked for no more automated (journey) e-mail: from the link or the one-click header of
    a message, or entered by staff. One row per lower-cased address; deleting it subscribes it again."""

    class Source(models.TextChoices):
        LINK = "link", "Unsubscribe link"
        ONE_CLICK = "one_click", "One-click (mail client)"
        STAFF = "staff", "Entered by staff"

    email = models.CharField(max_length=254, unique=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="mail_unsubscribes"
    )
    message = models.ForeignKey(
        MailMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="unsubscribes"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="unsubscribe_email_lower")
        ]

    def __str__(self) -> str:
        return self.email
