"""Webhook subscriptions (endpoints), the outbox of changes, deliveries with their retry state, allowed hosts."""

import secrets

from django.conf import settings
from django.db import models

TOPICS = {
    "contact.created": "Contact created",
    "contact.updated": "Contact updated",
    "contact.deleted": "Contact deleted",
    "company.created": "Company created",
    "company.updated": "Company updated",
    "company.deleted": "Company deleted",
    "deal.created": "Deal created",
    "deal.stage_changed": "Deal moved to another stage",
    "deal.won": "Deal won",
    "deal.lost": "Deal lost",
    "ticket.created": "Ticket created",
    "ticket.updated": "Ticket updated",
    "ticket.solved": "Ticket solved",
    "activity.created": "Activity logged",
    "profile.merged": "Profiles merged",
    "profile.unmerged": "Profiles unmerged",
    "segment.entered": "Profile entered a segment",
    "segment.exited": "Profile left a segment",
    "journey.converted": "Profile converted in a journey",
}


def _secret() -> str:
    return f"whsec_{secrets.token_hex(24)}"


class Endpoint(models.Model):
    """A URL subscribed to topics ("contact.*" and "*" match groups); journey steps can call it too."""

    name = models.CharField(max_length=120, unique=True)
    url = models.URLField(max_length=500)
    topics = models.JSONField(default=list, blank=True, help_text='e.g. ["contact.*", "deal.won"]')
    enabled = models.BooleanField(default=True)
    secret = models.CharField(max_length=100, default=_secret)
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Until then, payloads are signed with the old secret too."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "webhook subscription"

    def __str__(self) -> str:
        return self.name

    def wants(self, topic: str) -> bool:
        return any(
            t == "*" or t == topic or (t.endswith(".*") and topic.startswith(t[:-1])) for t in self.topics
        )


class OutboxEvent(models.Model):
    """A change, written in the transaction that made it; numbered per object so receivers can order."""

    topic = models.CharField(max_length=40)
    object_key = models.CharField(max_length=80, help_text='"contact:12", "segment:3:profile:9", ...')
    sequence = models.PositiveIntegerField()
    source_ref = models.CharField(
        max_length=120,
        null=True,
        blank=True,
        unique=True,
        help_text="Set when a poller records it (idempotent).",
    )
    payload = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["object_key", "sequence"], name="outboxevent_sequence_per_object")
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.object_key} #{self.sequence}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    object_key = models.CharField(max_length=80)
    sequence = models.PositiveIntegerField()
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    status_line = models.CharField(max_length=300, blank=True, default="", help_text="Never a response body.")
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="whdelivery_endpoint_idx"),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "retrying"]),
                name="whdelivery_due_idx",
            ),
            models.Index(
                fields=["endpoint", "object_key", "sequence"],
                condition=models.Q(status__in=["pending", "retrying"]),
                name="whdelivery_order_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id} {self.event_id}: {self.status}"


class AllowedHost(models.Model):
    """A host that outbound requests may reach even if it resolves to a private or loopback address."""

    host = models.CharField(
        max_length=253, unique=True, help_text="A host name or IP, e.g. crm-sync.internal"
    )
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["host"]

    def __str__(self) -> str:
        return self.host

    def save(self, *args, **kwargs):
        self.host = self.host.strip().lower().strip("[]")
        super().save(*args, **kwargs)


class Watermark(models.Model):
    """How far a poller (e.g. the merge ledger -> profile.merged) has read."""

    name = models.CharField(max_length=60, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
