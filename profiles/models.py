"""CDP data: sources with write keys, the durable inbox, rejected events, events, profiles, identities."""

from django.conf import settings
from django.db import models
from django.urls import reverse


class Source(models.Model):
    """One channel that sends events, authenticated by its write key (only a hash is stored)."""

    class Kind(models.TextChoices):
        WEBSITE = "website", "Website"
        IOS = "ios", "iOS app"
        ANDROID = "android", "Android app"
        SERVER = "server", "Server"
        EMAIL = "email", "Email platform"
        ADS = "ads", "Ads"
        ECOMMERCE = "ecommerce", "E-commerce"
        SUPPORT = "support", "Support"
        OFFLINE = "offline", "Offline"
        # Connectors: a vendor's webhooks in at /v1/webhooks/<id>/<kind> (profiles/connectors/).
        SHOPIFY = "shopify", "Shopify (webhooks)"
        STRIPE = "stripe", "Stripe (webhooks)"
        SENDGRID = "sendgrid", "SendGrid (Event Webhook)"
        MAILCHIMP = "mailchimp", "Mailchimp (webhooks)"
        GOOGLE_ADS = "google_ads", "Google Ads lead form"
        LEAD_WEBHOOK = "lead_webhook", "Lead webhook (any ad network)"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    write_key_hash = models.CharField(max_length=64, unique=True)
    write_key_prefix = models.CharField(max_length=12, help_text="First characters of the key, for display.")
    # A website's key is public (it is in every page's analytics.js snippet), so marketers can copy it any
    # time; any other source's key is secret and only its hash is kept.
    public_write_key = models.CharField(max_length=64, blank=True, default="", editable=False)
    enabled = models.BooleanField(default=True)
    events_accepted = models.PositiveBigIntegerField(default=0)
    events_rejected = models.PositiveBigIntegerField(default=0)
    last_event_at = models.DateTimeField(null=True, blank=True)
    key_rotated_at = models.DateTimeField(null=True, blank=True)
    # A connector's signing secret (the vendor's, or one made here to paste into the vendor) and settings.
    connector_secret = models.CharField(max_length=255, blank=True, default="")
    connector_config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="website") | models.Q(public_write_key=""),
                name="source_public_key_only_for_websites",
                violation_error_message="Only a website's write key is kept readable.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("profiles:source_detail", args=[self.pk])

    @property
    def is_browser(self) -> bool:
        return self.kind == self.Kind.WEBSITE

    @property
    def is_connector(self) -> bool:
        return self.kind in CONNECTOR_KINDS


CONNECTOR_KINDS = frozenset(
    {
        Source.Kind.SHOPIFY,
        Source.Kind.STRIPE,
        Source.Kind.SENDGRID,
        Source.Kind.MAILCHIMP,
        Source.Kind.GOOGLE_ADS,
        Source.Kind.LEAD_WEBHOOK,
    }
)


class IngestBatch(models.Model):
    """The durable inbox: one accepted tracking request, stored before the client gets its 200."""

    class Kind(models.TextChoices):
        BATCH = "batch", "Batch"
        TRACK = "track", "Track"
        IDENTIFY = "identify", "Identify"
        PAGE = "page", "Page"
        SCREEN = "screen", "Screen"
        GROUP = "group", "Group"
        ALIAS = "alias", "Alias"
        CSV = "csv", "Offline CSV"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="batches")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    body = models.TextField(help_text="The request JSON as received (after gzip decoding).")
    request_id = models.CharField(max_length=64)
    received_at = models.DateTimeField()
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    event_count = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    accepted_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # Profiles whose seen times and computed traits still wait for this batch's group to be folded in
    # (set on the group's first batch when its events are stored, cleared by the short transaction
    # that folds them; the sweeper refreshes what a killed worker left here).
    profiles_pending = models.JSONField(null=True, blank=True, editable=False)
    # Failed processing attempts and the last reason: a batch that failed is processed on its own (then
    # event by event), never again in a group; after INGEST_MAX_ATTEMPTS it is set aside (failed_at).
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "ingest batches"
        indexes = [
            models.Index(
                fields=["source", "received_at"],
                condition=models.Q(attempts__gt=0, processed_at__isnull=True)
                | models.Q(failed_at__isnull=False),
                name="ingestbatch_failing_idx",
            ),
            models.Index(
                fields=["received_at"],
                condition=models.Q(processed_at__isnull=True),
                name="ingestbatch_unprocessed_idx",
            ),
            models.Index(
                fields=["processed_at"],
                condition=models.Q(profiles_pending__isnull=False),
                name="ingestbatch_touch_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} from {self.source_id}"


class IngestError(models.Model):
    """An event refused individually while the rest of its batch was accepted."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="errors")
    batch = models.ForeignKey(IngestBatch, on_delete=models.CASCADE, related_name="errors")
    position = models.PositiveIntegerField(help_text="Index of the event in the batch (row number for CSV).")
    message_id = models.CharField(max_length=100, blank=True, default="")
    reason = models.CharField(max_length=300)
    excerpt = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["source", "-created_at"], name="ingesterror_source_recent_idx")]

    def __str__(self) -> str:
        return f"{self.reason} ({self.message_id or 'no messageId'})"


class Profile(models.Model):
    """One customer as seen by the CDP. Identity resolution and merges live in profiles/unify/ (resolution.py, merge.py).

    A merged-away profile keeps its row (merged_into points to the survivor) so its ledger stays readable
    and it can be split back out; it holds no identities or events while merged.
    """

    traits = models.JSONField(default=dict, blank=True)
    # trait name -> ISO time of the event that set it: traits merge latest-wins by event time.
    trait_times = models.JSONField(default=dict, blank=True, db_default=models.Value({}, models.JSONField()))
    # computed trait key -> value, maintained by profiles/unify/computed.py.
    computed_traits = models.JSONField(
        default=dict, blank=True, db_default=models.Value({}, models.JSONField())
    )
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_profiles"
    )
    merged_at = models.DateTimeField(null=True, blank=True)
    contact = models.OneToOneField(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="cdp_profile"
    )
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="cdp_profiles"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(merged_into=models.F("id")),
                name="profile_not_merged_into_itself",
                violation_error_message="A profile cannot be merged into itself.",
            )
        ]

    def __str__(self) -> str:
        # Traits are whatever JSON a client sent: only a non-empty string names the profile.
        for key in ("email", "name"):
            value = self.traits.get(key)
            if isinstance(value, str) and value.strip():
                return value
        return f"Profile {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("profiles:profile_detail", args=[self.pk])

    @property
    def is_live(self) -> bool:
        return self.merged_into_id is None


class ProfileMerge(models.Model):
    """The merge ledger: why two profiles became one, a refused merge, or an unmerge."""

    class Kind(models.TextChoices):
        MERGE = "merge", "Merged"
        REFUSED = "refused", "Merge refused"
        UNMERGE = "unmerge", "Unmerged"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MERGE)
    survivor = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="merges_survived")
    merged = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="merges_absorbed")
    rule = models.CharField(max_length=40, help_text="identify, alias, shared email, shared phone, ...")
    identifier = models.CharField(
        max_length=300, blank=True, default="", help_text="kind:value that tied them."
    )
    reason = models.CharField(max_length=300, blank=True, default="")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message_id = models.CharField(max_length=100, blank=True, default="")
    # The identities (["kind", "value"] pairs) the merged profile brought; unmerge moves them back.
    identities = models.JSONField(default=list, blank=True)
    undone_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="undoes"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["survivor", "-created_at"], name="merge_survivor_time_idx"),
            models.Index(fields=["merged", "-created_at"], name="merge_merged_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.merged_id} -> {self.survivor_id} ({self.rule})"


class Group(models.Model):
    """A `group` call's account (groupId), its traits, and the CRM company it matches."""

    group_id = models.CharField(max_length=255, unique=True)
    traits = models.JSONField(default=dict, blank=True)
    trait_times = models.JSONField(default=dict, blank=True)
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="cdp_groups"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        name = self.traits.get("name")
        return name if isinstance(name, str) and name.strip() else self.group_id


class ComputedTrait(models.Model):
    """A trait computed from events, defined by marketers in the admin."""

    class Aggregation(models.TextChoices):
        COUNT = "count", "Count of events"
        SUM = "sum", "Sum of a property"
        MIN = "min", "Minimum of a property"
        MAX = "max", "Maximum of a property"
        FIRST = "first", "First value of a property"
        LAST = "last", "Last value of a property"
        MOST_FREQUENT = "most_frequent", "Most frequent value of a property"

    key = models.SlugField(max_length=60, unique=True, help_text="Name of the trait, e.g. orders_90d.")
    label = models.CharField(max_length=120)
    aggregation = models.CharField(max_length=20, choices=Aggregation.choices)
    event_name = models.CharField(max_length=200, blank=True, default="", help_text="Empty: every event.")
    property = models.CharField(max_length=120, blank=True, default="")
    window_days = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: lifetime.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(aggregation="count") | ~models.Q(property=""),
                name="computedtrait_property_unless_count",
                violation_error_message="Pick the event property to aggregate (only a count needs none).",
            )
        ]

    def __str__(self) -> str:
        return self.label


class Identity(models.Model):
    """An identifier (user id, anonymous id, e-mail) that belongs to exactly one profile."""

    class Kind(models.TextChoices):
        USER_ID = "user_id", "User ID"
        ANONYMOUS_ID = "anonymous_id", "Anonymous ID"
        EMAIL = "email", "E-mail"
        PHONE = "phone", "Phone"

    # Besides the kinds above: "external:<namespace>" (context.externalIds, configured traits).
    kind = models.CharField(max_length=60)
    value = models.CharField(max_length=255)
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="identities")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"],
                name="identity_kind_value_unique",
                violation_error_message="Another profile already has this identifier.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Event(models.Model):
    """A normalised Segment-spec call, unique per (source, messageId)."""

    class Type(models.TextChoices):
        TRACK = "track", "Track"
        IDENTIFY = "identify", "Identify"
        PAGE = "page", "Page"
        SCREEN = "screen", "Screen"
        GROUP = "group", "Group"
        ALIAS = "alias", "Alias"

    # The (source, message_id) unique index serves lookups by source.
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="events", db_index=False)
    # The inbox row the event came from, while it is kept: processed batches are purged after
    # INGEST_BATCH_RETENTION_DAYS, so no database constraint (and no index) ties events to them.
    batch = models.ForeignKey(
        IngestBatch,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    profile = models.ForeignKey(
        Profile, null=True, blank=True, on_delete=models.SET_NULL, related_name="events", db_index=False
    )
    message_id = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=Type.choices)
    name = models.CharField(
        max_length=200, blank=True, default="", help_text="Track event, page/screen name."
    )
    category = models.CharField(max_length=200, blank=True, default="")
    user_id = models.CharField(max_length=255, blank=True, default="")
    anonymous_id = models.CharField(max_length=255, blank=True, default="")
    group_id = models.CharField(max_length=255, blank=True, default="")
    previous_id = models.CharField(max_length=255, blank=True, default="")
    timestamp = models.DateTimeField()
    original_timestamp = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    traits = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    integrations = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "message_id"],
                name="event_source_message_unique",
                violation_error_message="This source already sent an event with this messageId.",
            ),
        ]
        indexes = [
            models.Index(fields=["profile", "-timestamp"], name="event_profile_time_idx"),
            models.Index(fields=["name", "timestamp"], name="event_name_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.name}".strip()
