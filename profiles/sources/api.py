"""REST API of sources: create (returns the key once), rotate, offline CSV upload."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from common.api import StrictModelSerializer, StrictSerializer
from common.permissions import ModelPermissions

from ..models import Source
from . import services
from .offline import CsvRejected, offline_csv_import


class SourceSerializer(StrictModelSerializer):
    class Meta:
        model = Source
        fields = [
            "id",
            "name",
            "kind",
            "enabled",
            "write_key_prefix",
            "events_accepted",
            "events_rejected",
            "last_event_at",
            "key_rotated_at",
            "created_at",
        ]
        read_only_fields = [
            "write_key_prefix",
            "events_accepted",
            "events_rejected",
            "last_event_at",
            "key_rotated_at",
            "created_at",
        ]


class SourceWithKeySerializer(SourceSerializer):
    write_key = serializers.CharField(read_only=True, help_text="Shown only in this response.")

    class Meta(SourceSerializer.Meta):
        fields = [*SourceSerializer.Meta.fields, "write_key"]


class CsvUploadSerializer(StrictSerializer):
    file = serializers.FileField()


class ChangeSourcePermission(ModelPermissions):
    """Actions that change a source (rotate, CSV upload) need change_source whatever the method."""

    def has_permission(self, request, view):
        return bool(
            request.user and request.user.is_authenticated and request.user.has_perm("profiles.change_source")
        )


class SourceFilter(filters.FilterSet):
    class Meta:
        model = Source
        fields = ["kind", "enabled"]


class SourceViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Source.objects.order_by("name")
    serializer_class = SourceSerializer
    filterset_class = SourceFilter
    search_fields = ["name"]

    def get_permissions(self):
        if self.action in ("rotate_key", "upload_csv"):
            return [ChangeSourcePermission()]
        return super().get_permissions()

    @extend_schema(responses=SourceWithKeySerializer)
    def create(self, request, *args, **kwargs):
        serializer = SourceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        source, write_key = services.source_create(
            name=serializer.validated_data["name"], kind=serializer.validated_data["kind"]
        )
        if serializer.validated_data.get("enabled") is False:
            services.source_set_enabled(source=source, enabled=False)
        source.write_key = write_key
        return Response(SourceWithKeySerializer(source).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        services.source_update(source=serializer.instance, **serializer.validated_data)

    @extend_schema(request=None, responses=SourceWithKeySerializer)
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request, pk=None):
        source = self.get_object()
        source.write_key = services.source_rotate_key(source=source)
        return Response(SourceWithKeySerializer(source).data)

    @extend_schema(request={"multipart/form-data": CsvUploadSerializer})
    @action(detail=True, methods=["post"], url_path="csv", parser_classes=[MultiPartParser, FormParser])
    def upload_csv(self, request, pk=None):
        source = self.get_object()
        upload = CsvUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        try:
            result = offline_csv_import(source=source, data=file.read(), filename=file.name)
        except CsvRejected as error:
            raise serializers.ValidationError({"file": [str(error)]}) from error
        return Response(
            {
                "accepted_rows": result.accepted_rows,
                "batches": [batch.pk for batch in result.batches],
                "errors": [{"row": error.row, "reason": error.reason} for error in result.errors],
            }
        )


# (url prefix, viewset, basename) tuples, mounted under /api/ by cdpcrm/api.py through profiles/api.py.
ROUTES: list = [("cdp/sources", SourceViewSet, "source")]
