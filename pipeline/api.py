"""REST API of pipeline: serializers, filtersets and viewsets (writes go through pipeline/services.py)."""

import django_filters
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import decorators, serializers, status, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from common.api import StrictModelSerializer, StrictSerializer
from contacts.models import Company, Contact

from . import selectors, services
from .models import Deal, Pipeline, Stage


class StageSerializer(StrictModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "pipeline", "name", "position", "probability", "kind"]

    def validate_pipeline(self, value):
        if self.instance is not None and value != self.instance.pipeline:
            raise serializers.ValidationError("A stage cannot move to another pipeline.")
        return value


class PipelineSerializer(StrictModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "is_default", "stages"]
        validators = []  # marking a pipeline default moves the flag (pipeline_save) instead of refusing
        extra_kwargs = {"is_default": {"validators": []}}

    def create(self, validated_data):
        return services.pipeline_save(pipeline=Pipeline(**validated_data))

    def update(self, instance, validated_data):
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return services.pipeline_save(pipeline=instance)


class DealSerializer(StrictModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, allow_null=True
    )
    contact = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.all(), required=False, allow_null=True
    )
    company = serializers.PrimaryKeyRelatedField(
        queryset=Company.objects.all(), required=False, allow_null=True
    )
    pipeline = serializers.PrimaryKeyRelatedField(queryset=Pipeline.objects.all(), required=False)
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all(), required=False)
    status = serializers.CharField(source="stage.kind", read_only=True)
    probability = serializers.IntegerField(source="stage.probability", read_only=True)
    weighted_amount = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True)

    class Meta:
        model = Deal
        fields = [
            "id", "title", "amount", "currency", "weighted_amount", "expected_close_date", "owner", "contact",
            "company", "pipeline", "stage", "status", "probability", "next_step", "lost_reason", "closed_at",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["closed_at", "created_at", "updated_at"]

    def validate(self, attrs):
        stage = attrs.get("stage")
        pipeline = attrs.get("pipeline") or (self.instance.pipeline if self.instance else None)
        if self.instance is not None and "pipeline" in attrs and attrs["pipeline"] != self.instance.pipeline:
            raise serializers.ValidationError(
                {"pipeline": "A deal cannot change pipeline; create a new deal."}
            )
        if stage is not None and pipeline is not None and stage.pipeline_id != pipeline.pk:
            raise serializers.ValidationError({"stage": "This stage belongs to another pipeline."})
        if self.instance is None and "title" not in attrs:
            raise serializers.ValidationError({"title": "This field is required."})
        return attrs

    def create(self, validated_data):
        return services.deal_create(user=self.context["request"].user, **validated_data)

    def update(self, instance, validated_data):
        validated_data.pop("pipeline", None)
        return services.deal_update(deal=instance, user=self.context["request"].user, **validated_data)


class DealMoveSerializer(StrictSerializer):
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    lost_reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class DealFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(field_name="stage__kind", choices=Stage.Kind.choices)
    close_after = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="gte")
    close_before = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="lte")
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte")
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte")

    class Meta:
        model = Deal
        fields = ["stage", "owner", "pipeline", "contact", "company", "currency", "status"]


class PipelineViewSet(viewsets.ModelViewSet):
    queryset = Pipeline.objects.prefetch_related("stages").order_by("-is_default", "name")
    serializer_class = PipelineSerializer
    filterset_fields = ["is_default"]


class StageViewSet(viewsets.ModelViewSet):
    queryset = Stage.objects.order_by("pipeline", "position", "id")
    serializer_class = StageSerializer
    filterset_fields = ["pipeline", "kind"]


class CanChangeDeal(BasePermission):
    """Moving a deal is a change (change_deal), although it is a POST."""

    def has_permission(self, request, view) -> bool:
        return bool(
            request.user and request.user.is_authenticated and request.user.has_perm("pipeline.change_deal")
        )


class DealViewSet(viewsets.ModelViewSet):
    queryset = selectors.deal_queryset().order_by("-updated_at", "-id")
    serializer_class = DealSerializer
    filterset_class = DealFilter
    search_fields = ["title", "company__name", "contact__email", "contact__last_name"]
    ordering_fields = ["amount", "expected_close_date", "updated_at", "created_at", "title"]

    def perform_destroy(self, instance):
        services.deal_delete(deal=instance, user=self.request.user)

    @extend_schema(request=DealMoveSerializer, responses=DealSerializer)
    @decorators.action(detail=True, methods=["post"], permission_classes=[CanChangeDeal])
    def move(self, request, pk=None):
        """Move the deal to another stage of its pipeline; the change is recorded in the stage history."""
        deal = self.get_object()
        payload = DealMoveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.deal_move(
            deal=deal,
            stage=payload.validated_data["stage"],
            user=request.user,
            lost_reason=payload.validated_data["lost_reason"],
        )
        deal = selectors.deal_detail(pk=deal.pk)
        return Response(DealSerializer(deal, context={"request": request}).data, status=status.HTTP_200_OK)


# (url prefix, viewset, basename) tuples, mounted under /api/ by cdpcrm/api.py.
ROUTES: list = [
    ("pipelines", PipelineViewSet, "pipeline"),
    ("stages", StageViewSet, "stage"),
    ("deals", DealViewSet, "deal"),
]
