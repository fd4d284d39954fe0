"""REST API of contacts: serializers, filtersets and viewsets, writing through contacts.services."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django_filters import rest_framework as filters
from rest_framework import authentication, exceptions, serializers, viewsets

from common.api import IsoDateTimeUtcFilter, StrictModelSerializer
from common.security.authentication import ApiTokenAuthentication

from . import services
from .models import Activity, Company, Contact, LoyaltyAccount, LoyaltyNote, Tag, Task


class DeleteConflict(exceptions.APIException):
    status_code = 409
    default_detail = "Other records protect this one."
    default_code = "protected"


class TagNamesField(serializers.ListField):
    child = serializers.CharField(max_length=60)

    def to_representation(self, data):
        return [tag.name for tag in data.all()]


class ContactSerializer(StrictModelSerializer):
    full_name = serializers.CharField(read_only=True)
    phone = serializers.CharField(
        required=False, allow_blank=True, help_text="Stored in E.164 (+14155552671)."
    )
    tags = TagNamesField(
        child=serializers.CharField(max_length=60),
        required=False,
        help_text="Tag names; unknown names are created.",
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "full_name",
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "company",
            "owner",
            "lifecycle_stage",
            "lead_source",
            "tags",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # Uniqueness is checked case-insensitively by the service, which names the field.
        extra_kwargs = {"email": {"validators": []}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["phone"] = str(instance.phone) if instance.phone else ""
        return data

    def create(self, validated_data):
        return services.contact_create(user=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return services.contact_update(contact=instance, user=self.context["request"].user, **validated_data)


class CompanySerializer(StrictModelSerializer):
    phone = serializers.CharField(required=False, allow_blank=True)
    contact_count = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = Company
        fields = [
            "id",
            "name",
            "domain",
            "industry",
            "size",
            "phone",
            "address",
            "owner",
            "contact_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["phone"] = str(instance.phone) if instance.phone else ""
        return data

    def create(self, validated_data):
        return services.company_create(user=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return services.company_update(company=instance, user=self.context["request"].user, **validated_data)


class ActivitySerializer(StrictModelSerializer):
    occurred_at = serializers.DateTimeField(required=False)

    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "subject",
            "body",
            "direction",
            "occurred_at",
            "duration_minutes",
            "contact",
            "company",
            "deal_id",
            "author",
            "created_at",
        ]
        read_only_fields = ["author", "created_at"]

    def create(self, validated_data):
        return services.activity_create(author=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        return services.activity_update(
            activity=instance, user=self.context["request"].user, **validated_data
        )


class TaskSerializer(StrictModelSerializer):
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "notes",
            "due_at",
            "assignee",
            "contact",
            "company",
            "deal_id",
            "done_at",
            "is_overdue",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["created_by", "created_at"]

    def create(self, validated_data):
        done_at = validated_data.pop("done_at", None)
        user = self.context["request"].user
        task = services.task_create(created_by=user, **validated_data)
        if done_at is not None:
            services.task_complete(task=task, user=user)
        return task

    def update(self, instance, validated_data):
        user = self.context["request"].user
        marker = object()
        done_at = validated_data.pop("done_at", marker)
        task = services.task_update(task=instance, user=user, **validated_data)
        if done_at is None:
            services.task_reopen(task=task, user=user)
        elif done_at is not marker:
            services.task_complete(task=task, user=user)
        return task


class LoyaltyAccountSerializer(StrictModelSerializer):
    member_since = serializers.DateField(required=False)

    class Meta:
        model = LoyaltyAccount
        fields = ["id", "contact", "program", "tier", "points_balance", "member_since", "updated_at"]
        read_only_fields = ["program", "points_balance", "updated_at"]

    def validate_contact(self, contact):
        if self.instance is not None and contact != self.instance.contact:
            raise serializers.ValidationError("A loyalty account cannot move to another contact.")
        return contact

    def create(self, validated_data):
        return services.loyalty_enroll(user=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        tier = validated_data.get("tier")
        if tier and tier != instance.tier:
            services.loyalty_tier_change(account=instance, user=self.context["request"].user, tier=tier)
        return instance


class LoyaltyNoteSerializer(StrictModelSerializer):
    class Meta:
        model = LoyaltyNote
        fields = [
            "id",
            "account",
            "kind",
            "points_delta",
            "tier_from",
            "tier_to",
            "text",
            "author",
            "created_at",
        ]
        read_only_fields = ["tier_from", "author", "created_at"]

    def create(self, validated_data):
        user = self.context["request"].user
        account = validated_data["account"]
        kind = validated_data["kind"]
        text = validated_data.get("text", "")
        if kind == LoyaltyNote.Kind.TIER_CHANGE:
            if not validated_data.get("tier_to"):
                raise serializers.ValidationError({"tier_to": "Name the new tier."})
            return services.loyalty_tier_change(
                account=account,
                user=user,
                tier=validated_data["tier_to"],
                text=text,
            )
        if kind == LoyaltyNote.Kind.NOTE:
            return services.loyalty_note_add(account=account, user=user, text=text)
        return services.loyalty_points_add(
            account=account,
            user=user,
            delta=validated_data.get("points_delta", 0),
            kind=kind,
            text=text,
        )


# --- filtersets -------------------------------------------------------------------------------------


class ContactFilter(filters.FilterSet):
    tag = filters.CharFilter(field_name="tags__name", lookup_expr="iexact", distinct=True)
    email = filters.CharFilter(lookup_expr="iexact")
    updated_after = IsoDateTimeUtcFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = IsoDateTimeUtcFilter(field_name="updated_at", lookup_expr="lt")
    created_after = IsoDateTimeUtcFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Contact
        fields = ["owner", "lifecycle_stage", "company", "lead_source"]


class CompanyFilter(filters.FilterSet):
    domain = filters.CharFilter(lookup_expr="iexact")
    updated_after = IsoDateTimeUtcFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Company
        fields = ["owner", "industry", "size"]


class ActivityFilter(filters.FilterSet):
    occurred_after = IsoDateTimeUtcFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeUtcFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Activity
        fields = ["kind", "contact", "company", "author", "deal_id", "direction"]


class TaskFilter(filters.FilterSet):
    done = filters.BooleanFilter(field_name="done_at", lookup_expr="isnull", exclude=True)
    due_before = IsoDateTimeUtcFilter(field_name="due_at", lookup_expr="lt")
    due_after = IsoDateTimeUtcFilter(field_name="due_at", lookup_expr="gte")

    class Meta:
        model = Task
        fields = ["assignee", "contact", "company", "deal_id"]


class LoyaltyAccountFilter(filters.FilterSet):
    min_points = filters.NumberFilter(field_name="points_balance", lookup_expr="gte")

    class Meta:
        model = LoyaltyAccount
        fields = ["tier", "contact"]


class LoyaltyNoteFilter(filters.FilterSet):
    class Meta:
        model = LoyaltyNote
        fields = ["account", "kind", "author"]


# --- viewsets ---------------------------------------------------------------------------------------

# Token first: a request with a bad token then gets 401 with a WWW-Authenticate header, not 403.
AUTHENTICATION = [ApiTokenAuthentication, authentication.SessionAuthentication]


class ContactViewSet(viewsets.ModelViewSet):
    authentication_classes = AUTHENTICATION
    queryset = (
        Contact.objects.select_related("company", "owner")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .order_by("id")
    )
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    search_fields = ["first_name", "last_name", "email", "company__name"]
    ordering_fields = ["id", "last_name", "email", "created_at", "updated_at", "lifecycle_stage"]

    def perform_destroy(self, instance):
        try:
            services.contact_delete(contact=instance, user=self.request.user)
        except DjangoValidationError as error:
            # Support tickets protect the contact: a conflict with other records, not bad input.
            raise DeleteConflict({"detail": " ".join(error.messages)}) from error


class CompanyViewSet(viewsets.ModelViewSet):
    authentication_classes = AUTHENTICATION
    queryset = Company.objects.select_related("owner").order_by("id")
    serializer_class = CompanySerializer
    filterset_class = CompanyFilter
    search_fields = ["name", "domain", "industry"]
    ordering_fields = ["id", "name", "domain", "created_at", "updated_at"]

    def perform_destroy(self, instance):
        services.company_delete(company=instance, user=self.request.user)


class ActivityViewSet(viewsets.ModelViewSet):
    authentication_classes = AUTHENTICATION
    queryset = Activity.objects.order_by("-occurred_at", "-id")
    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    search_fields = ["subject", "body"]
    ordering_fields = ["occurred_at", "id", "kind"]


class TaskViewSet(viewsets.ModelViewSet):
    authentication_classes = AUTHENTICATION
    queryset = Task.objects.order_by("id")
    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    search_fields = ["title", "notes"]
    ordering_fields = ["id", "due_at", "done_at", "created_at"]


class LoyaltyAccountViewSet(viewsets.ModelViewSet):
    authentication_classes = AUTHENTICATION
    queryset = LoyaltyAccount.objects.order_by("id")
    serializer_class = LoyaltyAccountSerializer
    filterset_class = LoyaltyAccountFilter
    search_fields = ["contact__email", "contact__last_name"]
    ordering_fields = ["id", "points_balance", "member_since", "tier"]
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]


class LoyaltyNoteViewSet(
    viewsets.mixins.CreateModelMixin,
    viewsets.mixins.ListModelMixin,
    viewsets.mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The loyalty ledger: entries are appended through the loyalty services, never edited."""

    authentication_classes = AUTHENTICATION
    queryset = LoyaltyNote.objects.order_by("-created_at", "-id")
    serializer_class = LoyaltyNoteSerializer
    filterset_class = LoyaltyNoteFilter
    search_fields = ["text"]
    ordering_fields = ["created_at", "id", "points_delta"]


# (url prefix, viewset, basename) tuples, mounted under /api/ by cdpcrm/api.py.
ROUTES: list = [
    ("contacts", ContactViewSet, "contact"),
    ("companies", CompanyViewSet, "company"),
    ("activities", ActivityViewSet, "activity"),
    ("tasks", TaskViewSet, "task"),
    ("loyalty/accounts", LoyaltyAccountViewSet, "loyalty-account"),
    ("loyalty/notes", LoyaltyNoteViewSet, "loyalty-note"),
]
