"""Journeys, their published versions, enrolments (one profile's run through one version) and its path."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from profiles.models import Profile


class Journey(models.Model):
    """The working copy of a journey; `live_version` is what new enrolments run."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        PAUSED = "paused", "Paused"

    class Reenrol(models.TextChoices):
        ONCE = "once", "Once per profile"
        AFTER_DAYS = "after_days", "Again after N days"

    name = models.CharField(max_length=150, unique=True)
    description = models.TextField(blank=True, default="")
    definition = models.JSONField(
        help_text="Trigger, steps, goal and exit conditions (built with the journey builder)."
    )
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.DRAFT)
    reenrol = models.CharField(max_length=10, choices=Reenrol.choices, default=Reenrol.ONCE)
    reenrol_days = models.PositiveIntegerField(
        default=30, help_text="With “again after N days”: days since the last entry before a new one."
    )
    live_version = models.ForeignKey(
        "JourneyVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("journeys:journey_detail", args=[self.pk])


class JourneyVersion(models.Model):
    """A published, immutable definition; enrolments finish on the version they entered."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["journey", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "number"], name="journeyversion_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.journey} v{self.number}"


class Enrolment(models.Model):
    """One profile's run through one journey version. An active row with `due_at` set is a due step:
    the sweeper claims due rows in batches (SKIP LOCKED) and runs the step in the claim's transaction."""

    class State(models.TextChoices):
        ACTIVE = "active", "In the journey"
        COMPLETED = "completed", "Completed"
        CONVERTED = "converted", "Converted"
        EXITED = "exited", "Exited"

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="enrolments")
    version = models.ForeignKey(JourneyVersion, on_delete=models.CASCADE, related_name="enrolments")
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="journey_enrolments")
    state = models.CharField(max_length=9, choices=State.choices, default=State.ACTIVE)
    trigger_ref = models.CharField(
        max_length=120, help_text="What enrolled the profile (an event, a segment move, a CRM change)."
    )
    step = models.CharField(max_length=40, blank=True, default="", help_text="The current step's id.")
    steps_taken = models.PositiveIntegerField(default=0)
    step_started_at = models.DateTimeField()
    due_at = models.DateTimeField(
        null=True, blank=True, help_text="When the current step runs (or times out)."
    )
    entered_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-entered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "profile"],
                condition=models.Q(state="active"),
                name="enrolment_one_active_per_journey",
            ),
            models.UniqueConstraint(
                fields=["journey", "profile", "trigger_ref"], name="enrolment_once_per_trigger"
            ),
        ]
        indexes = [
            models.Index(
                fields=["journey", "due_at"],
                condition=models.Q(state="active", due_at__isnull=False),
                name="enrolment_due_idx",
            ),
            models.Index(fields=["profile", "state"], name="enrolment_profile_idx"),
            models.Index(fields=["version", "state", "step"], name="enrolment_step_count_idx"),
            models.Index(fields=["journey", "entered_at"], name="enrolment_entered_idx"),
            models.Index(
                fields=["journey", "ended_at"],
                condition=models.Q(ended_at__isnull=False),
                name="enrolment_ended_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} in {self.journey_id} v{self.version_id}: {self.state}"


class StepLog(models.Model):
    """One line of a profile's path: entered, waited, a branch taken, an action done or skipped, the end."""

    class Kind(models.TextChoices):
        ENTERED = "entered", "Entered"
        STEP = "step", "Step"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"
        CONVERTED = "converted", "Converted"
        EXITED = "exited", "Exited"
        COMPLETED = "completed", "Completed"

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="log")
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="+")
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=40, blank=True, default="")
    sequence = models.PositiveIntegerField(help_text="Position in the enrolment's path (idempotency key).")
    kind = models.CharField(max_length=9, choices=Kind.choices)
    summary = models.CharField(max_length=300)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "sequence"], name="steplog_once_per_position")
        ]
        indexes = [models.Index(fields=["profile", "-at"], name="steplog_profile_time_idx")]

    def __str__(self) -> str:
        return f"{self.enrolment_id}#{self.sequence} {self.summary}"


class JourneyDay(models.Model):
    """Entries and ends of a journey per day, counted by the transaction that runs an entry's first step or
    ends an enrolment, so the journey page's totals and chart read a few rows, not every enrolment."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    entered = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    converted = models.PositiveIntegerField(default=0)
    exited = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["journey", "day"]
        constraints = [models.UniqueConstraint(fields=["journey", "day"], name="journeyday_one_per_day")]

    def __str__(self) -> str:
        return f"{self.journey_id} {self.day}: +{self.entered}"


class StepCount(models.Model):
    """How many active enrolments of a version are at a step, kept by the transactions that move them (the
    sweeper and the event handler, never an enrolling CRM or segment transaction, as with JourneyDay), so the
    journey page reads one row per step instead of counting enrolments. Entries not at a step yet are not
    counted here; `journey_step_counts_reconcile` repairs drift (profiles deleted with their enrolments)."""

    version = models.ForeignKey(JourneyVersion, on_delete=models.CASCADE, related_name="step_counts")
    step = models.CharField(max_length=40)
    active = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["version", "step"]
        constraints = [models.UniqueConstraint(fields=["version", "step"], name="stepcount_one_per_step")]

    def __str__(self) -> str:
        return f"{self.version_id}/{self.step}: {self.active}"
