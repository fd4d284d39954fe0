"""Stored events (/api/cdp/events/) and the Profile API, shaped like Segment's (/api/profiles/{kind}:{value}/...).

`{kind}:{value}` is any identifier (user_id:u-1, email:ann@example.com, anonymous_id:..., phone:+49...,
external:shop:42). Identities always point at the live profile, so an identifier that came with a merged
profile answers with its survivor. Unknown identifiers are 404.
"""

from django.db.models import Q
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from common.api import IsoDateTimeUtcFilter, StrictModelSerializer

from ..models import Event, Profile, ProfileMerge
from . import selectors
from .identity import identifier_parse, profile_by_identifier


class EventSerializer(StrictModelSerializer):
    class Meta:
        model = Event
        fields = [
            "id",
            "source",
            "profile",
            "message_id",
            "type",
            "name",
            "category",
            "user_id",
            "anonymous_id",
            "group_id",
            "previous_id",
            "timestamp",
            "original_timestamp",
            "sent_at",
            "received_at",
            "properties",
            "traits",
            "context",
            "integrations",
        ]


class EventFilter(filters.FilterSet):
    since = IsoDateTimeUtcFilter(field_name="timestamp", lookup_expr="gte")
    until = IsoDateTimeUtcFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = Event
        fields = ["source", "type", "name", "user_id", "anonymous_id", "profile", "message_id"]


class EventViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Event.objects.order_by("-timestamp", "-id")
    serializer_class = EventSerializer
    filterset_class = EventFilter
    ordering_fields = ["timestamp", "received_at"]


class ProfileSerializer(StrictModelSerializer):
    identities = serializers.SerializerMethodField()

    class Meta:
        model = Profile
        fields = [
            "id",
            "traits",
            "computed_traits",
            "identities",
            "contact",
            "company",
            "first_seen",
            "last_seen",
            "created_at",
        ]

    def get_identities(self, profile) -> list[str]:
        return [f"{i.kind}:{i.value}" for i in profile.identities.all()]


class ProfileMergeSerializer(StrictModelSerializer):
    class Meta:
        model = ProfileMerge
        fields = [
            "id",
            "kind",
            "survivor",
            "merged",
            "rule",
            "identifier",
            "reason",
            "source",
            "message_id",
            "identities",
            "undone_by",
            "created_at",
        ]


class ProfileFilter(filters.FilterSet):
    q = filters.CharFilter(method="search", label="Identifier value, e-mail or name")
    status = filters.ChoiceFilter(
        choices=[("known", "Linked to a contact"), ("unknown", "No contact")], method="by_status"
    )

    class Meta:
        model = Profile
        fields = ["contact", "company"]

    def search(self, queryset, name, value):
        return queryset.filter(pk__in=selectors.profile_search(query=value).values("pk"))

    def by_status(self, queryset, name, value):
        return queryset.filter(contact__isnull=value == "unknown")


class EventPagination(CursorPagination):
    ordering = ("-timestamp", "-id")
    page_size = 50


class ProfileViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Live profiles; detail routes take any identifier as `kind:value`."""

    queryset = (
        Profile.objects.filter(merged_into__isnull=True)
        .prefetch_related("identities")
        .order_by("-last_seen", "-id")
    )
    serializer_class = ProfileSerializer
    filterset_class = ProfileFilter
    lookup_field = "identifier"
    lookup_value_regex = "[^/]+"
    search_fields: list = []

    def get_object(self) -> Profile:
        identifier = identifier_parse(self.kwargs["identifier"])
        profile = profile_by_identifier(identifier=identifier) if identifier else None
        if profile is None:
            raise Http404("No profile has this identifier.")
        self.check_object_permissions(self.request, profile)
        return profile

    @extend_schema(parameters=[OpenApiParameter("identifier", str, "path", description="kind:value")])
    @action(detail=True, methods=["get"])
    def traits(self, request, identifier=None):
        profile = self.get_object()
        return Response(
            {"id": profile.pk, "traits": profile.traits, "computed_traits": profile.computed_traits}
        )

    @action(detail=True, methods=["get"])
    def identities(self, request, identifier=None):
        profile = self.get_object()
        rows = profile.identities.order_by("kind", "value").values("kind", "value", "created_at")
        return Response({"id": profile.pk, "identities": list(rows)})

    @action(detail=True, methods=["get"])
    def events(self, request, identifier=None):
        profile = self.get_object()
        events = Event.objects.filter(profile=profile)
        if request.query_params.get("name"):
            events = events.filter(name=request.query_params["name"])
        paginator = EventPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(EventSerializer(page, many=True).data)

    @action(detail=True, methods=["get"])
    def merges(self, request, identifier=None):
        profile = self.get_object()
        merged_ids = list(Profile.objects.filter(merged_into=profile).values_list("pk", flat=True))
        entries = ProfileMerge.objects.filter(
            Q(survivor=profile) | Q(merged=profile) | Q(merged_id__in=merged_ids)
        ).order_by("-created_at", "-id")[:200]
        return Response({"id": profile.pk, "merges": ProfileMergeSerializer(entries, many=True).data})


ROUTES: list = [("cdp/events", EventViewSet, "event"), ("profiles", ProfileViewSet, "profile")]
