"""Segments (rule trees), membership with history, daily sizes, destinations and their deliveries."""

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from profiles.models import Profile


def _webhook_secret() -> str:
    return secrets.token_hex(24)


class Segment(models.Model):
    name = models.CharField(max_length=150, unique=True)
    description = models.TextField(blank=True, default="")
    rule = models.JSONField(
        help_text="The rule tree (see DESIGN.md): nested all/any/not groups of conditions."
    )
    is_active = models.BooleanField(default=True, help_text="Inactive segments are not evaluated.")
    member_count = models.PositiveIntegerField(default=0)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time a profile entered or left."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["member_count", "last_evaluated_at", "last_changed_at"])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("segments:segment_detail", args=[self.pk])


class Membership(models.Model):
    """One stay of a profile in a segment; the open row (exited_at is NULL) is the current membership."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="segment_memberships")
    entered_at = models.DateTimeField()
    exited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-entered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "profile"],
                condition=models.Q(exited_at__isnull=True),
                name="membership_one_open_per_profile",
                violation_error_message="The profile is already a member of this segment.",
            ),
            models.CheckConstraint(
                condition=models.Q(exited_at__isnull=True) | models.Q(exited_at__gte=models.F("entered_at")),
                name="membership_exit_after_entry",
                violation_error_message="A membership cannot end before it starts.",
            ),
        ]
        indexes = [
            models.Index(fields=["profile", "exited_at"], name="membership_profile_idx"),
            models.Index(fields=["segment", "entered_at"], name="membership_segment_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} in {self.segment_id}"


class WindowExpiry(models.Model):
    """A moment when a windowed event of a profile leaves a segment's window: the profile is re-checked then.

    Rows for the next hour are written after each evaluation and by a half-hourly planner; a beat task every
    few seconds claims the due ones in batches. No Celery eta is involved (an eta longer than the Redis
    visibility timeout is redelivered again and again under acks_late).
    """

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+")
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "profile", "due_at"], name="windowexpiry_once_per_moment"
            )
        ]
        indexes = [models.Index(fields=["due_at"], name="windowexpiry_due_idx")]

    def __str__(self) -> str:
        return f"{self.profile_id} in {self.segment_id} at {self.due_at:%Y-%m-%d %H:%M:%S}"


class SegmentSize(models.Model):
    """Size of a segment at the end of a day (the list sparkline and the size chart)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes")
    day = models.DateField()
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["segment", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "day"],
                name="segmentsize_one_per_day",
                violation_error_message="The segment's size for this day is already recorded.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} {self.day}: {self.size}"


class Destination(models.Model):
    """Where entering/leaving members are sent: a signed webhook, a CRM task or a contact tag."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        CRM_TASK = "crm_task", "CRM task for the contact owner"
        TAG = "tag", "Contact tag"

    class TagAction(models.TextChoices):
        ADD = "add", "Add the tag"
        REMOVE = "remove", "Remove the tag"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="destinations")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    on_enter = models.BooleanField(default=True)
    on_exit = models.BooleanField(default=False)
    url = models.URLField(blank=True, default="", help_text="Webhook: the URL that receives POSTs.")
    secret = models.CharField(
        max_length=100, default=_webhook_secret, help_text="Webhook: the key of the HMAC-SHA256 signature."
    )
    traits = models.JSONField(
        default=list,
        blank=True,
        help_text="Webhook: the profile traits sent in the payload (a list of names).",
    )
    task_title = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text='CRM task: e.g. "Gold customer abandoned a cart: call".',
    )
    task_due_hours = models.PositiveIntegerField(default=24, help_text="CRM task: due this many hours later.")
    tag_name = models.CharField(
        max_length=60, blank=True, default="", help_text="Tag: the tag to add or remove."
    )
    tag_action = models.CharField(max_length=6, choices=TagAction.choices, default=TagAction.ADD)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["segment", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="webhook") | ~models.Q(url=""),
                name="destination_webhook_has_url",
                violation_error_message="A webhook destination needs a URL.",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="crm_task") | ~models.Q(task_title=""),
                name="destination_task_has_title",
                violation_error_message="A CRM task destination needs a task title.",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="tag") | ~models.Q(tag_name=""),
                name="destination_tag_has_name",
                violation_error_message="A tag destination needs the tag's name.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Delivery(models.Model):
    """One activation of a destination for one profile entering or leaving; the retry state lives here."""

    class Trigger(models.TextChoices):
        ENTER = "enter", "Entered"
        EXIT = "exit", "Exited"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        DELIVERED = "delivered", "Delivered"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="deliveries")
    profile = models.ForeignKey(Profile, null=True, on_delete=models.SET_NULL, related_name="+")
    trigger = models.CharField(max_length=5, choices=Trigger.choices)
    sequence = models.PositiveIntegerField(
        default=0,
        help_text="Order of this move among the profile's moves in and out of the segment (1 = first entry).",
    )
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["destination", "-created_at"], name="delivery_destination_idx"),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "retrying"]),
                name="delivery_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.destination_id} {self.trigger} {self.profile_id}: {self.status}"
