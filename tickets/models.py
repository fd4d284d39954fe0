"""Support tickets: teams, SLA policies, tickets, their conversation and the audit trail."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from contacts.models import Company, Contact, Tag


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    ON_HOLD = "on_hold", "On hold"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEB = "web", "Web form"
    PHONE = "phone", "Phone"
    CHAT = "chat", "Chat"
    SOCIAL = "social", "Social"
    IN_PERSON = "in_person", "In person"


# The resolution clock stops while the ticket waits on the customer or a third party.
PAUSED_STATUSES = frozenset({Status.PENDING, Status.ON_HOLD})
# No SLA clock runs any more.
DONE_STATUSES = frozenset({Status.SOLVED, Status.CLOSED})
ACTIVE_STATUSES = frozenset({Status.NEW, Status.OPEN})
PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Team(models.Model):
    """A support queue tickets are routed to (Billing, Returns, ...)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """Targets for one priority: the first public reply and the resolution, in minutes."""

    priority = models.CharField(max_length=10, choices=Priority.choices, unique=True)
    first_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-first_response_minutes"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_response_minutes__gt=0, resolution_minutes__gt=0),
                name="slapolicy_targets_positive",
                violation_error_message="The first-response and resolution targets must both be more than 0 minutes.",
            ),
            models.CheckConstraint(
                condition=models.Q(resolution_minutes__gte=models.F("first_response_minutes")),
                name="slapolicy_resolution_after_first_response",
                violation_error_message="The resolution target cannot be shorter than the first-response target.",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_priority_display()}: reply {self.first_response_minutes} min, "
            f"resolve {self.resolution_minutes} min"
        )


class Ticket(models.Model):
    subject = models.CharField(max_length=200)
    # PROTECT: deleting a contact must not silently take its support history along (contact_delete refuses).
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="tickets")
    # The contact's company when the ticket opened: company pages list tickets without joining contacts.
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    # SLA clock. resolution_due_at moves later by each finished pause; while paused, paused_at is set.
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(default=0)
    satisfaction_rating = models.PositiveSmallIntegerField(null=True, blank=True)
    satisfaction_comment = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(satisfaction_rating__isnull=True)
                | models.Q(satisfaction_rating__gte=1, satisfaction_rating__lte=5),
                name="ticket_satisfaction_1_to_5",
                violation_error_message="Rate satisfaction from 1 to 5.",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=sorted(s.value for s in PAUSED_STATUSES))
                | models.Q(paused_at__isnull=True),
                name="ticket_paused_only_when_waiting",
                violation_error_message="Only a pending or on-hold ticket can be paused.",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "resolution_due_at"], name="ticket_status_due_idx"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status_idx"),
            models.Index(fields=["contact", "-created_at"], name="ticket_contact_time_idx"),
            models.Index(fields=["company", "-created_at"], name="ticket_company_time_idx"),
            models.Index(fields=["created_at"], name="ticket_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("tickets:ticket_detail", args=[self.pk])

    @property
    def reference(self) -> str:
        return f"#{self.pk}"

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATUSES

    def sla_clock(self, now: datetime | None = None):
        from .sla import sla_clock

        return sla_clock(self, now=now or timezone.now())


class TicketMessage(models.Model):
    """One entry of the conversation: a public reply (emailed) or an internal note (staff only)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    internal = models.BooleanField(default=False)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when the customer wrote the message (inbound email, web form).
    author_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="ticket_messages"
    )
    body = models.TextField()
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    created_at = models.DateTimeField(default=timezone.now)
    # RFC 5322 Message-ID (without <>): inbound ones deduplicate, outbound ones let replies thread back.
    email_message_id = models.CharField(max_length=255, blank=True, default="")
    email_sent_at = models.DateTimeField(null=True, blank=True)
    # The synced e-mail it came from (support mailbox): headers and attachments live there.
    mail_message = models.ForeignKey(
        "mail.MailMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="ticket_messages"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["email_message_id"],
                condition=~models.Q(email_message_id=""),
                name="ticketmessage_message_id_unique",
                violation_error_message="This e-mail is already on a ticket.",
            ),
            models.CheckConstraint(
                condition=~(models.Q(internal=True) & models.Q(author_contact__isnull=False)),
                name="ticketmessage_customer_not_internal",
                violation_error_message="A message from the customer cannot be an internal note.",
            ),
        ]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticketmessage_ticket_time_idx")]

    def __str__(self) -> str:
        return f"{'Note' if self.internal else 'Reply'} on {self.ticket_id}: {self.body[:40]}"

    @property
    def from_customer(self) -> bool:
        return self.author_contact_id is not None and self.author_user_id is None


class TicketEvent(models.Model):
    """Audit trail: who changed what on a ticket, from which value to which, and when."""

    class Field(models.TextChoices):
        CREATED = "created", "Created"
        STATUS = "status", "Status"
        PRIORITY = "priority", "Priority"
        ASSIGNEE = "assignee", "Assignee"
        TEAM = "team", "Team"
        SATISFACTION = "satisfaction", "Satisfaction"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    field = models.CharField(max_length=20, choices=Field.choices)
    from_value = models.CharField(max_length=200, blank=True, default="")
    to_value = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticketevent_ticket_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_field_display()}: {self.from_value} → {self.to_value}"
