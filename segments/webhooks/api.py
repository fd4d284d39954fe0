"""REST API of outbound webhooks: subscriptions (with secret rotation) and the delivery log with replay."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from common.api import StrictModelSerializer

from . import services
from .models import TOPICS, Endpoint, WebhookDelivery


class EndpointSerializer(StrictModelSerializer):
    topics = serializers.ListField(
        child=serializers.CharField(max_length=40), help_text=f"Any of {', '.join(TOPICS)}; or contact.* / *."
    )

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "name",
            "url",
            "topics",
            "enabled",
            "secret",
            "previous_secret_expires_at",
            "created_at",
        ]
        read_only_fields = ["secret", "previous_secret_expires_at", "created_at"]

    def save(self, **kwargs):
        data = {**self.validated_data, **kwargs}
        instance = self.instance

        def pick(name, default):
            return data.get(name, getattr(instance, name) if instance else default)

        self.instance = services.endpoint_save(
            endpoint=instance,
            name=pick("name", ""),
            url=pick("url", ""),
            topics=pick("topics", []),
            enabled=pick("enabled", True),
            user=self.context["request"].user,
        )
        return self.instance


class DeliverySerializer(StrictModelSerializer):
    topic = serializers.CharField(source="event.topic", read_only=True)
    payload = serializers.JSONField(source="event.payload", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "topic",
            "object_key",
            "sequence",
            "status",
            "attempts",
            "response_code",
            "status_line",
            "created_at",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
            "replay_of",
            "payload",
        ]
        read_only_fields = fields


class EndpointViewSet(viewsets.ModelViewSet):
    """Webhook subscriptions (Admin role). Payloads are signed: see docs/api.md, "Outbound webhooks"."""

    serializer_class = EndpointSerializer
    queryset = Endpoint.objects.order_by("name")

    @extend_schema(request=None, responses=EndpointSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new secret; the old one keeps signing for 24 hours (a second v1 value)."""
        endpoint = services.endpoint_secret_rotate(endpoint=self.get_object())
        return Response(EndpointSerializer(endpoint, context=self.get_serializer_context()).data)

    def perform_destroy(self, instance):
        instance.delete()
        services.endpoints_changed()


class DeliveryFilter(django_filters.FilterSet):
    topic = django_filters.CharFilter(field_name="event__topic")

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "status", "object_key"]


class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """The delivery log: status, response code, time; `replay` sends a delivery again."""

    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter
    queryset = WebhookDelivery.objects.select_related("event").order_by("-created_at", "-id")

    @extend_schema(request=None, responses=DeliverySerializer)
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        replay = services.delivery_replay(delivery=self.get_object(), user=request.user)
        return Response(DeliverySerializer(replay).data, status=201)


ROUTES: list = [
    ("webhooks", EndpointViewSet, "webhook"),
    ("webhook-deliveries", DeliveryViewSet, "webhook-delivery"),
]
