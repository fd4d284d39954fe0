"""Connector data: the log of webhook deliveries, open checkouts (for Cart Abandoned), loyalty credits."""

from django.db import models

from profiles.models import Event, Source


class WebhookDelivery(models.Model):
    """One webhook request whose signature held: accepted into the inbox, or rejected with the reason."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="webhook_deliveries")
    status = models.CharField(max_length=10, choices=Status.choices)
    topic = models.CharField(max_length=100, blank=True, default="")
    # The vendor's id of the delivery or event (X-Shopify-Webhook-Id, evt_..., sg_event_id, lead_id).
    external_id = models.CharField(max_length=255, blank=True, default="")
    event_count = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=300, blank=True, default="")
    excerpt = models.TextField(blank=True, default="")
    # The inbox batch holding the mapped events; batches are purged after their retention: no constraint.
    batch = models.ForeignKey(
        "profiles.IngestBatch",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    test = models.BooleanField(default=False, help_text="Sent by the source page's test button.")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["source", "-received_at"], name="delivery_source_recent_idx"),
            models.Index(
                fields=["source", "-received_at"],
                condition=models.Q(status="rejected"),
                name="delivery_rejected_recent_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic or 'delivery'} ({self.status})"


class OpenCheckout(models.Model):
    """A shop checkout that was started; one not completed in time becomes a Cart Abandoned event."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="open_checkouts")
    token = models.CharField(max_length=255)
    # The Segment-spec fields the Cart Abandoned event is made of (identifiers, cart, value).
    call = models.JSONField(default=dict)
    updated_at = models.DateTimeField(help_text="The vendor's time of the checkout's last change.")
    completed_at = models.DateTimeField(null=True, blank=True)
    abandoned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "token"],
                name="opencheckout_source_token_unique",
                violation_error_message="This checkout is already recorded.",
            )
        ]
        indexes = [
            models.Index(
                fields=["updated_at"],
                condition=models.Q(completed_at__isnull=True, abandoned_at__isnull=True),
                name="opencheckout_waiting_idx",
            )
        ]

    def __str__(self) -> str:
        return f"checkout {self.token}"


class LoyaltyCredit(models.Model):
    """Points given (or taken back) for one order event: an event is credited once, whatever replays it."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey("contacts.LoyaltyAccount", on_delete=models.CASCADE, related_name="+")
    points = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.points:+d} for event {self.event_id}"
