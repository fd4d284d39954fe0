"""Audience destinations, the wanted/synced state of each member, and the log of sync batches."""

import secrets

from django.db import models

from profiles.models import Profile

from ..models import Segment


def _secret() -> str:
    return f"whsec_{secrets.token_hex(24)}"


class AudienceDestination(models.Model):
    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Audience webhook"
        MAILCHIMP = "mailchimp", "Mailchimp audience"
        META = "meta", "Meta Custom Audience"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    segment = models.ForeignKey(
        Segment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audience_destinations",
        help_text="Members of this segment are kept in the audience (journey steps can add others).",
    )
    enabled = models.BooleanField(default=True)
    url = models.URLField(
        max_length=500,
        blank=True,
        default="",
        help_text="Audience webhook: the URL. Mailchimp/Meta: the API base URL (empty: the vendor's).",
    )
    list_id = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="Mailchimp audience (list) id, or Meta custom audience id.",
    )
    api_key = models.CharField(
        max_length=300, blank=True, default="", help_text="Mailchimp API key (…-us21) or Meta access token."
    )
    secret = models.CharField(max_length=100, default=_secret, help_text="Audience webhook: signing secret.")
    field_mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text='Profile trait -> destination field, e.g. {"first_name": "FNAME"}.',
    )
    batch_size = models.PositiveIntegerField(
        default=500, help_text="Members per request (Mailchimp ≤ 500, Meta ≤ 10,000)."
    )
    failures = models.PositiveIntegerField(default=0)
    next_sync_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class AudienceMember(models.Model):
    """Whether a profile should be in the audience (`wanted`) and whether the remote list has caught up."""

    destination = models.ForeignKey(AudienceDestination, on_delete=models.CASCADE, related_name="members")
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+")
    wanted = models.BooleanField(default=True)
    synced = models.BooleanField(default=False)
    skipped_reason = models.CharField(max_length=200, blank=True, default="")
    changed_at = models.DateTimeField()
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["destination", "profile"], name="audiencemember_once")]
        indexes = [
            models.Index(
                fields=["destination", "changed_at"],
                condition=models.Q(synced=False),
                name="audiencemember_unsynced_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} {'in' if self.wanted else 'out of'} {self.destination_id}"


class AudienceSync(models.Model):
    """One batch request (adds and removes) sent to a destination."""

    destination = models.ForeignKey(AudienceDestination, on_delete=models.CASCADE, related_name="syncs")
    started_at = models.DateTimeField()
    adds = models.PositiveIntegerField(default=0)
    removes = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    ok = models.BooleanField(default=False)
    status_line = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.destination_id} {self.started_at:%Y-%m-%d %H:%M}: +{self.adds} -{self.removes}"
