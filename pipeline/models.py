"""Pipelines with ordered stages, the deals moving through them and the history of every move."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.functional import cached_property

from contacts.models import Company, Contact

from .currencies import CURRENCY_CHOICES, CURRENCY_CODES, DEFAULT_CURRENCY


class Pipeline(models.Model):
    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="pipeline_single_default",
                violation_error_message="Only one pipeline can be the default.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0, help_text="Columns are shown in ascending position.")
    probability = models.PositiveSmallIntegerField(
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Win probability in percent (0-100).",
    )
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.OPEN)

    class Meta:
        ordering = ["pipeline", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(probability__lte=100),
                name="stage_probability_0_100",
                violation_error_message="A stage's probability is between 0 and 100 %.",
            ),
            models.UniqueConstraint(
                fields=["pipeline", "name"],
                name="stage_name_unique_in_pipeline",
                violation_error_message="This pipeline already has a stage with this name.",
            ),
            # Target of the composite foreign key deal(pipeline_id, stage_id) -> stage(pipeline_id, id).
            models.UniqueConstraint(
                fields=["pipeline", "id"],
                name="stage_pipeline_id_unique",
                violation_error_message="This stage is already in the pipeline.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.probability}%)"

    @property
    def is_closed(self) -> bool:
        return self.kind != self.Kind.OPEN


class CurrencySettings(models.Model):
    """The company currency that board totals, the forecast and win rates consolidate into (one row)."""

    singleton = models.BooleanField(default=True, editable=False, unique=True)
    base_currency = models.CharField(
        max_length=3,
        choices=CURRENCY_CHOICES,
        default=DEFAULT_CURRENCY,
        help_text="Deals keep their own currency; totals are converted into this one with the exchange rates.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "company currency"
        verbose_name_plural = "company currency"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(singleton=True),
                name="currencysettings_single_row",
                violation_error_message="There is only one company currency setting.",
            )
        ]

    def __str__(self) -> str:
        return f"Company currency: {self.base_currency}"


class ExchangeRate(models.Model):
    """What one unit of `currency` is worth in `base`, from `valid_from` until the next rate of the pair."""

    base = models.CharField(max_length=3, choices=CURRENCY_CHOICES, help_text="The company currency.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    rate = models.DecimalField(
        max_digits=20,
        decimal_places=10,
        validators=[MinValueValidator(Decimal("0.0000000001"))],
        help_text="1 unit of the currency = this many units of the company currency.",
    )
    valid_from = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["base", "currency", "valid_from"],
                name="exchangerate_one_per_day",
                violation_error_message="This currency already has a rate from that day.",
            ),
            models.CheckConstraint(
                condition=models.Q(rate__gt=0),
                name="exchangerate_positive",
                violation_error_message="An exchange rate is more than zero.",
            ),
            models.CheckConstraint(
                condition=~models.Q(base=models.F("currency")),
                name="exchangerate_not_to_itself",
                violation_error_message="Pick a currency other than the company currency.",
            ),
        ]
        indexes = [models.Index(fields=["base", "currency", "-valid_from"], name="exchangerate_lookup_idx")]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate.normalize():f} {self.base} from {self.valid_from:%Y-%m-%d}"


class Deal(models.Model):
    title = models.CharField(max_length=200)
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default=DEFAULT_CURRENCY)
    expected_close_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    # PROTECT: a stage cannot be deleted while deals sit in it.
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    next_step = models.CharField(max_length=200, blank=True, default="")
    lost_reason = models.CharField(max_length=200, blank=True, default="")
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["expected_close_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0),
                name="deal_amount_not_negative",
                violation_error_message="A deal's amount cannot be negative.",
            ),
            models.CheckConstraint(
                condition=models.Q(currency__in=CURRENCY_CODES),
                name="deal_currency_iso_4217",
                violation_error_message="Pick an ISO 4217 currency (such as USD, EUR or JPY).",
            ),
        ]
        indexes = [
            models.Index(fields=["pipeline", "stage"], name="deal_board_idx"),
            models.Index(fields=["owner", "expected_close_date"], name="deal_owner_close_idx"),
            models.Index(fields=["expected_close_date"], name="deal_close_date_idx"),
            # Partial: the board's closed columns read (stage, -closed_at, -id); a full index on closed_at, whose
            # NULLs (every open deal) come first in a backward scan, tempted the planner into reading them all.
            models.Index(
                fields=["closed_at"], name="deal_closed_at_idx", condition=models.Q(closed_at__isnull=False)
            ),
            # The board's columns: open ones page by close date, won/lost ones show the latest closed.
            models.Index(fields=["stage", "expected_close_date", "id"], name="deal_column_cards_idx"),
            models.Index(fields=["stage", "-closed_at", "-id"], name="deal_column_closed_idx"),
            # Column totals (count and sum per currency) read from the index alone on PostgreSQL.
            models.Index(fields=["stage", "currency"], include=["amount"], name="deal_column_totals_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("pipeline:deal_detail", args=[self.pk])

    @cached_property
    def url(self) -> str:
        """get_absolute_url; the board sets it for its cards from one reverse() a page (one a card cost 15 ms)."""
        return self.get_absolute_url()

    @property
    def owner_label(self) -> str:
        if self.owner is None:
            return "Unassigned"
        return self.owner.get_full_name() or self.owner.username

    def clean(self) -> None:
        errors = {}
        if self.stage_id and self.pipeline_id and self.stage.pipeline_id != self.pipeline_id:
            errors["stage"] = "This stage belongs to another pipeline."
        if not self.contact_id and not self.company_id:
            errors["contact"] = "A deal needs a contact or a company."
        if self.stage_id and self.stage.kind == Stage.Kind.LOST and not self.lost_reason.strip():
            errors["lost_reason"] = "Say why the deal was lost."
        if errors:
            raise ValidationError(errors)

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.stage.probability / Decimal(100)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )


class DealStageChange(models.Model):
    """One move of a deal between stages (from_stage is empty for the creation)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_stage = models.ForeignKey(Stage, null=True, on_delete=models.SET_NULL, related_name="+")
    # Names are kept so the history still reads well if a stage is later renamed or removed.
    from_stage_name = models.CharField(max_length=100, blank=True, default="")
    to_stage_name = models.CharField(max_length=100)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField()
    lost_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["deal", "-changed_at"], name="stagechange_deal_time_idx")]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_name or '—'} → {self.to_stage_name}"
