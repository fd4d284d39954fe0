"""CRM records entered by staff: companies, contacts, activities, tasks, tags and loyalty."""

from django.conf import settings
from django.core.validators import DomainNameValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from .search_text import company_part_set, search_text_for

# The fields contact search reads (with the company's name): saving any of them refreshes search_text.
SEARCHED_FIELDS = {"first_name", "last_name", "email", "phone", "company", "company_id"}


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)
    color = models.CharField(max_length=20, default="secondary")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Company(models.Model):
    class Size(models.TextChoices):
        MICRO = "1-10", "1-10"
        SMALL = "11-50", "11-50"
        MEDIUM = "51-200", "51-200"
        LARGE = "201-1000", "201-1,000"
        ENTERPRISE = "1000+", "1,000+"

    name = models.CharField(max_length=200)
    domain = models.CharField(
        max_length=253,
        blank=True,
        default="",
        validators=[
            DomainNameValidator(
                accept_idna=True,
                message="Enter a web domain such as atelier-nord.com (no spaces or symbols).",
            )
        ],
    )
    industry = models.CharField(max_length=100, blank=True, default="")
    size = models.CharField(max_length=20, choices=Size.choices, blank=True, default="")
    phone = PhoneNumberField(blank=True, default="")
    address = models.TextField(blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="companies"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                Lower("domain"),
                condition=~models.Q(domain=""),
                name="company_domain_unique_when_set",
                violation_error_message="Another company already uses this domain.",
            )
        ]
        indexes = [models.Index(fields=["name"], name="company_name_idx")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        """Saves; a renamed company also rewrites the company part of its contacts' search text (one UPDATE)."""
        renamed = self.pk is not None and getattr(self, "_saved_name", None) not in (None, self.name)
        super().save(*args, **kwargs)
        if renamed:
            self.contacts.update(search_text=company_part_set(self.name))
        self._saved_name = self.name

    def get_absolute_url(self) -> str:
        return reverse("contacts:company_detail", args=[self.pk])

    def delete(self, *args, **kwargs):
        self.contacts.update(search_text=company_part_set(""))
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        company = super().from_db(db, field_names, values)
        company._saved_name = company.__dict__.get("name")
        return company


class Contact(models.Model):
    class Lifecycle(models.TextChoices):
        SUBSCRIBER = "subscriber", "Subscriber"
        LEAD = "lead", "Lead"
        MQL = "mql", "Marketing qualified lead"
        SQL = "sql", "Sales qualified lead"
        OPPORTUNITY = "opportunity", "Opportunity"
        CUSTOMER = "customer", "Customer"
        EVANGELIST = "evangelist", "Evangelist"

    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    email = models.EmailField(max_length=254, blank=True, default="")
    phone = PhoneNumberField(blank=True, default="")
    job_title = models.CharField(max_length=150, blank=True, default="")
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    lifecycle_stage = models.CharField(
        max_length=20, choices=Lifecycle.choices, default=Lifecycle.LEAD, db_index=True
    )
    lead_source = models.CharField(max_length=100, blank=True, default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    # What contact search reads (contacts/search_text.py), kept by save() and Company.save(); one trigram
    # index on PostgreSQL (migration contacts 0007).
    search_text = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="contact_email_unique_ci_when_set",
                violation_error_message="Another contact already uses this email address.",
            ),
            models.CheckConstraint(
                condition=~models.Q(first_name="", last_name="", email=""),
                name="contact_has_name_or_email",
                violation_error_message="Give the contact a name or an email address.",
            ),
        ]
        indexes = [
            models.Index(fields=["last_name", "first_name"], name="contact_name_idx"),
            models.Index(fields=["owner", "lifecycle_stage"], name="contact_owner_stage_idx"),
            models.Index(fields=["-updated_at"], name="contact_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None:
            self.search_text = self.search_text_compute()
        elif SEARCHED_FIELDS & set(update_fields):
            self.search_text = self.search_text_compute()
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("contacts:contact_detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email

    def search_text_compute(self) -> str:
        return search_text_for(
            first_name=self.first_name,
            last_name=self.last_name,
            email=self.email,
            phone=self.phone,
            company_name=self.company.name if self.company_id and self.company else "",
        )


class Activity(models.Model):
    """Something that happened with a contact or company, logged by staff."""

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        CALL = "call", "Call"
        MEETING = "meeting", "Meeting"
        EMAIL = "email", "Email"

    class Direction(models.TextChoices):
        INBOUND = "in", "Inbound"
        OUTBOUND = "out", "Outbound"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    subject = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField(blank=True, default="")
    direction = models.CharField(max_length=3, choices=Direction.choices, blank=True, default="")
    occurred_at = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="activities"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="activities"
    )
    # Generic attachment point for higher apps (a deal, a ticket) without contacts importing them.
    deal_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contact__isnull=False) | models.Q(company__isnull=False),
                name="activity_has_contact_or_company",
                violation_error_message="An activity needs a contact or a company.",
            )
        ]
        indexes = [
            models.Index(fields=["contact", "-occurred_at"], name="activity_contact_time_idx"),
            models.Index(fields=["company", "-occurred_at"], name="activity_company_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject or self.body[:40]}"


class Task(models.Model):
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True, default="")
    due_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    deal_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["done_at", "due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "done_at", "due_at"], name="task_assignee_open_idx"),
            models.Index(fields=["contact", "done_at"], name="task_contact_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_at is not None and self.due_at < timezone.now()


class LoyaltyAccount(models.Model):
    class Tier(models.TextChoices):
        BRONZE = "bronze", "Bronze"
        SILVER = "silver", "Silver"
        GOLD = "gold", "Gold"
        PLATINUM = "platinum", "Platinum"

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="loyalty")
    program = models.CharField(max_length=100, default="Style Rewards")
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.BRONZE, db_index=True)
    points_balance = models.IntegerField(default=0)
    member_since = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(points_balance__gte=0),
                name="loyalty_balance_not_negative",
                violation_error_message="A loyalty balance cannot go below zero.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact} ({self.get_tier_display()}, {self.points_balance} pts)"


class LoyaltyNote(models.Model):
    """One entry of a loyalty ledger: points earned/redeemed, a tier change or a free-text note."""

    class Kind(models.TextChoices):
        EARNED = "earned", "Points earned"
        REDEEMED = "redeemed", "Points redeemed"
        ADJUSTED = "adjusted", "Points adjusted"
        TIER_CHANGE = "tier", "Tier change"
        NOTE = "note", "Note"

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    points_delta = models.IntegerField(default=0)
    tier_from = models.CharField(max_length=20, blank=True, default="")
    tier_to = models.CharField(max_length=20, blank=True, default="")
    text = models.TextField(blank=True, default="")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="loyaltynote_account_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points_delta:+d}"


class RecentView(models.Model):
    """Which contacts a user opened lately (the home page's "recently viewed")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    viewed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "contact"],
                name="recentview_user_contact_unique",
                violation_error_message="This contact is already in the recently viewed list.",
            )
        ]
        indexes = [models.Index(fields=["user", "-viewed_at"], name="recentview_user_time_idx")]

    def __str__(self) -> str:
        return f"{self.user} viewed {self.contact} at {self.viewed_at:%Y-%m-%d %H:%M}"


class SavedView(models.Model):
    """A named state of a list page (filters, columns, sort, page size), private or shared with everyone."""

    list_key = models.CharField(max_length=40, help_text="Which list: contacts, companies, deals, tickets…")
    name = models.CharField(max_length=80)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    shared = models.BooleanField(default=False, help_text="Everyone who can see the list sees this view.")
    state = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                "list_key",
                "owner",
                Lower("name"),
                name="savedview_name_unique_per_owner",
                violation_error_message="You already have a view with this name on this list.",
            )
        ]
        indexes = [
            models.Index(fields=["list_key", "owner"], name="savedview_list_owner_idx"),
            models.Index(fields=["list_key", "shared"], name="savedview_list_shared_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.list_key})"
