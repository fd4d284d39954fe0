"""REST API of journeys: list, read, create, update, pause, resume, publish, and each journey's enrolments."""

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from common.api import StrictModelSerializer

from . import selectors, services
from .definition import DefinitionError, definition_validate
from .models import Enrolment, Journey


class JourneySerializer(StrictModelSerializer):
    live_version = serializers.IntegerField(source="live_version.number", read_only=True, allow_null=True)

    class Meta:
        model = Journey
        fields = [
            "id",
            "name",
            "description",
            "status",
            "definition",
            "reenrol",
            "reenrol_days",
            "live_version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["status", "live_version", "created_at", "updated_at"]

    def validate_definition(self, definition):
        try:
            definition_validate(definition=definition, lookups=services.definition_lookups(self.instance))
        except DefinitionError as error:
            raise serializers.ValidationError(error.messages) from None
        return definition

    def save(self, **kwargs):
        data = {**self.validated_data, **kwargs}
        instance = self.instance

        def pick(name, default):
            return data.get(name, getattr(instance, name) if instance else default)

        try:
            self.instance = services.journey_save(
                user=self.context["request"].user,
                journey=instance,
                name=pick("name", ""),
                definition=pick("definition", None),
                description=pick("description", ""),
                reenrol=pick("reenrol", Journey.Reenrol.ONCE),
                reenrol_days=pick("reenrol_days", 30),
            )
        except DefinitionError as error:
            raise serializers.ValidationError({"definition": error.messages}) from None
        return self.instance


class EnrolmentSerializer(StrictModelSerializer):
    version = serializers.IntegerField(source="version.number", read_only=True)

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "journey",
            "version",
            "profile",
            "state",
            "step",
            "due_at",
            "entered_at",
            "ended_at",
            "end_reason",
            "trigger_ref",
        ]
        read_only_fields = fields


class JourneyFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Journey
        fields = ["name", "status"]


class EnrolmentFilter(django_filters.FilterSet):
    class Meta:
        model = Enrolment
        fields = ["state", "profile", "step"]


class JourneyViewSet(viewsets.ModelViewSet):
    serializer_class = JourneySerializer
    filterset_class = JourneyFilter
    queryset = Journey.objects.select_related("live_version").order_by("name")
    http_method_names = ["get", "post", "put", "patch", "head", "options"]  # archive by pausing, not delete

    def _state_change(self, request, change):
        journey = self.get_object()
        try:
            change(journey=journey, user=request.user)
        except DefinitionError as error:
            # "status" problems name that field; definition problems go under "definition" with their path.
            detail: dict[str, list[str]] = {}
            for path, message in error.errors:
                key = "status" if path == "status" else "definition"
                detail.setdefault(key, []).append(message if key == "status" else f"{path}: {message}")
            raise serializers.ValidationError(detail) from None
        journey.refresh_from_db()
        return Response(JourneySerializer(journey, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=JourneySerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Hold every profile where it is; nobody enters until it resumes."""
        return self._state_change(request, services.journey_pause)

    @extend_schema(request=None, responses=JourneySerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._state_change(request, services.journey_resume)

    @extend_schema(request=None, responses=JourneySerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Publish the working definition as a new version (a draft goes live)."""

        return self._state_change(request, services.journey_publish)

    @extend_schema(
        responses=EnrolmentSerializer(many=True),
        parameters=[
            OpenApiParameter("state", str, enum=Enrolment.State.values),
            OpenApiParameter("profile", int),
            OpenApiParameter("step", str),
        ],
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def enrolments(self, request, pk=None):
        """The journey's enrolments, newest first; filter by `state`, `profile`, `step`."""
        journey = self.get_object()
        rows = EnrolmentFilter(
            request.query_params, queryset=selectors.journey_enrolments(journey=journey)
        ).qs
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(EnrolmentSerializer(page, many=True).data)


ROUTES: list = [("journeys", JourneyViewSet, "journey")]
