"""REST API of segments: CRUD through the services, members (paginated), preview, CSV export."""

import django_filters
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from common.api import StrictModelSerializer
from common.security.audit import audit_record

from . import selectors, services
from .models import Membership, Segment
from .rules import RuleError, rule_validate


class SegmentSerializer(StrictModelSerializer):
    sentence = serializers.SerializerMethodField()

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "rule",
            "is_active",
            "sentence",
            "member_count",
            "last_evaluated_at",
            "last_changed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "member_count",
            "last_evaluated_at",
            "last_changed_at",
            "created_at",
            "updated_at",
        ]

    def get_sentence(self, segment: Segment) -> str:
        return selectors.sentence_for(segment, self.context.get("segment_names"))

    def validate_rule(self, rule):
        segment_id = self.instance.pk if self.instance else None
        try:
            rule_validate(rule=rule, segment_id=segment_id, segment_lookup=_rule_of)
        except RuleError as error:
            raise serializers.ValidationError(
                [f"{path or 'rule'}: {message}" for path, message in error.errors]
            ) from None
        return rule

    def save(self, **kwargs):
        data = {**self.validated_data, **kwargs}
        instance = self.instance
        try:
            self.instance = services.segment_save(
                user=self.context["request"].user,
                segment=instance,
                name=data.get("name", instance.name if instance else ""),
                rule=data.get("rule", instance.rule if instance else None),
                description=data.get("description", instance.description if instance else ""),
                is_active=data.get("is_active", instance.is_active if instance else True),
            )
        except RuleError as error:
            raise serializers.ValidationError({"rule": error.messages}) from None
        return self.instance


class MemberSerializer(StrictModelSerializer):
    profile_id = serializers.IntegerField()
    traits = serializers.JSONField(source="profile.traits")

    class Meta:
        model = Membership
        fields = ["profile_id", "entered_at", "traits"]


def _rule_of(segment_id: int):
    return Segment.objects.filter(pk=segment_id).values_list("rule", flat=True).first()


class SegmentFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Segment
        fields = ["name", "is_active"]


class SegmentViewSet(viewsets.ModelViewSet):
    serializer_class = SegmentSerializer
    filterset_class = SegmentFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "member_count", "last_changed_at"]
    queryset = Segment.objects.order_by("name")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "segment_names": selectors.segment_names()}

    def destroy(self, request, *args, **kwargs):
        """204; 409 naming the segments whose rules and the journeys that use this one (they would silently
        match nobody): `protected_by` lists them by name, `used_by` the segments' ids."""
        try:
            services.segment_delete(segment=self.get_object())
        except services.SegmentInUse as error:
            return Response(
                {"detail": str(error), "protected_by": error.labels, "used_by": [u.pk for u in error.users]},
                status=409,
            )
        return Response(status=204)

    @action(detail=True, methods=["get"])
    def members(self, request, pk=None):
        """Current members, newest first; `?q=` searches identifiers and the name/email traits."""
        segment = self.get_object()
        members = selectors.segment_members(segment=segment, search=request.query_params.get("q", ""))
        page = self.paginate_queryset(members)
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    @action(detail=True, methods=["get", "post"])
    def preview(self, request, pk=None):
        """Size estimate and a sample for the saved rule, or for the `rule` posted in the body."""
        segment = self.get_object()
        rule = request.data.get("rule", segment.rule) if request.method == "POST" else segment.rule
        try:
            rule_validate(rule=rule, segment_id=segment.pk, segment_lookup=_rule_of)
        except RuleError as error:
            return Response({"rule": [f"{p or 'rule'}: {m}" for p, m in error.errors]}, status=400)
        preview = selectors.rule_preview(rule=rule)
        return Response(
            {
                "count": preview["count"],
                "sample": [{"id": p.pk, "traits": p.traits} for p in preview["sample"]],
            }
        )

    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        """CSV of the current members with the traits named in `?traits=a,b`."""
        from .views import csv_response

        traits = [t.strip() for t in request.query_params.get("traits", "").split(",") if t.strip()][:50]
        segment = self.get_object()
        audit_record(
            actor=request.user,
            action="csv_export",
            target=f"segment {segment.pk}: {segment.name}",
            detail={"traits": traits, "api": True},
        )
        return csv_response(segment=segment, traits=traits)


# (url prefix, viewset, basename) tuples, mounted under /api/ by cdpcrm/api.py.
ROUTES: list = [("segments", SegmentViewSet, "segment")]
