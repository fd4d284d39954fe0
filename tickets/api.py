"""REST API of tickets: serializers, filtersets and viewsets; writes go through tickets.services.

The inbound-email endpoint is not authenticated by a user: it checks an HMAC-SHA256 signature of
"<timestamp>.<raw body>" with INBOUND_EMAIL_SECRET (see docs/api.md, "Inbound email").
"""

import hashlib
import hmac
import json
import time
from email.utils import parseaddr

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from common.api import StrictModelSerializer, StrictSerializer
from contacts.models import Contact, Tag

from . import services
from .models import Channel, Priority, Status, Team, Ticket, TicketMessage
from .selectors import agent_list
from .sla import breached_q

SIGNATURE_MAX_AGE_SECONDS = 300


class TicketSerializer(StrictModelSerializer):
    reference = serializers.CharField(read_only=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    sla_state = serializers.SerializerMethodField()
    breached = serializers.SerializerMethodField()
    paused = serializers.BooleanField(source="is_paused", read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "subject",
            "contact",
            "company",
            "status",
            "priority",
            "channel",
            "assignee",
            "team",
            "tags",
            "created_at",
            "updated_at",
            "first_responded_at",
            "solved_at",
            "first_response_due_at",
            "resolution_due_at",
            "paused",
            "sla_state",
            "breached",
            "satisfaction_rating",
            "satisfaction_comment",
        ]
        read_only_fields = fields

    def _clock(self, ticket: Ticket):
        now = self.context.setdefault("now", timezone.now())
        return ticket.sla_clock(now)

    def get_sla_state(self, ticket: Ticket) -> str:
        return self._clock(ticket).state

    def get_breached(self, ticket: Ticket) -> bool:
        return self._clock(ticket).breached


class TicketCreateSerializer(StrictSerializer):
    contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all())
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField(required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.WEB)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    assignee = serializers.PrimaryKeyRelatedField(queryset=agent_list(), required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=60), required=False, default=list)


class TicketUpdateSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    assignee = serializers.PrimaryKeyRelatedField(queryset=agent_list(), required=False, allow_null=True)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=60), required=False)


class TicketMessageSerializer(StrictModelSerializer):
    class Meta:
        model = TicketMessage
        fields = [
            "id",
            "ticket",
            "internal",
            "author_user",
            "author_contact",
            "body",
            "channel",
            "created_at",
            "email_sent_at",
        ]
        read_only_fields = [
            "id",
            "ticket",
            "author_user",
            "author_contact",
            "channel",
            "created_at",
            "email_sent_at",
        ]


class InboundEmailSerializer(serializers.Serializer):
    sender = serializers.CharField(max_length=320)
    to = serializers.CharField(required=False, allow_blank=True, default="")
    subject = serializers.CharField(required=False, allow_blank=True, default="", max_length=998)
    text = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    html = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    message_id = serializers.CharField(max_length=255)
    in_reply_to = serializers.CharField(required=False, allow_blank=True, default="")
    references = serializers.JSONField(required=False, default=list)

    def validate_sender(self, value: str) -> dict:
        name, address = parseaddr(value)
        try:
            validate_email(address)
        except DjangoValidationError as error:
            raise serializers.ValidationError("Not a valid sender address.") from error
        return {"name": name, "email": address.lower()}

    def validate_references(self, value):
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        raise serializers.ValidationError("Give a header string or a list of message-ids.")

    def validate(self, data):
        if not data["text"].strip() and not data["html"].strip():
            raise serializers.ValidationError({"text": "The email has no text or html body."})
        return data


class InboundResultSerializer(serializers.Serializer):
    ticket = serializers.IntegerField()
    reference = serializers.CharField()
    message = serializers.IntegerField()
    created_ticket = serializers.BooleanField()
    duplicate = serializers.BooleanField()


class TicketFilter(django_filters.FilterSet):
    breached = django_filters.BooleanFilter(method="filter_breached", label="SLA breached (unsolved)")
    tag = django_filters.ModelChoiceFilter(field_name="tags", queryset=Tag.objects.all())

    class Meta:
        model = Ticket
        fields = ["status", "priority", "assignee", "contact", "team", "channel"]

    def filter_breached(self, queryset, name, value):
        condition = breached_q(now=timezone.now())
        return queryset.filter(condition) if value else queryset.exclude(condition)


def _signature_problem(request) -> tuple[int, str] | None:
    """Why the request is not from our inbound mail relay, or None when its signature holds."""
    signature = request.META.get("HTTP_X_SIGNATURE", "")
    timestamp = request.META.get("HTTP_X_TIMESTAMP", "")
    if not signature or not timestamp:
        return (
            status.HTTP_401_UNAUTHORIZED,
            "Sign the request: X-Signature and X-Timestamp headers are required.",
        )
    secret = settings.INBOUND_EMAIL_SECRET
    if not secret:
        return status.HTTP_503_SERVICE_UNAVAILABLE, "Inbound email is not configured (INBOUND_EMAIL_SECRET)."
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > SIGNATURE_MAX_AGE_SECONDS:
        return status.HTTP_401_UNAUTHORIZED, "X-Timestamp is missing or older than 5 minutes."
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, f"sha256={expected}"):
        return status.HTTP_401_UNAUTHORIZED, "The signature does not match."
    return None


class TicketViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = (
        Ticket.objects.select_related("contact", "assignee", "team")
        .prefetch_related("tags")
        .order_by("-created_at", "-id")
    )
    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    search_fields = ["subject", "contact__email", "contact__last_name"]
    ordering_fields = ["created_at", "updated_at", "resolution_due_at", "first_response_due_at", "priority"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=TicketCreateSerializer, responses={201: TicketSerializer})
    def create(self, request, *args, **kwargs):
        serializer = TicketCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ticket = services.ticket_create(
            user=request.user,
            contact=data["contact"],
            subject=data["subject"],
            body=data["body"],
            priority=data["priority"],
            channel=data["channel"],
            team=data.get("team"),
            assignee=data.get("assignee"),
            status=Status.OPEN if data.get("assignee") else Status.NEW,
            tags=data["tags"],
        )
        return Response(
            TicketSerializer(self.get_queryset().get(pk=ticket.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=TicketUpdateSerializer, responses=TicketSerializer)
    def update(self, request, *args, **kwargs):
        ticket = self.get_object()
        serializer = TicketUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "priority" in data:
            ticket = services.ticket_priority_change(
                user=request.user, ticket=ticket, priority=data["priority"]
            )
        if "assignee" in data:
            ticket = services.ticket_assign(user=request.user, ticket=ticket, assignee=data["assignee"])
        if "team" in data:
            ticket = services.ticket_team_change(user=request.user, ticket=ticket, team=data["team"])
        if "tags" in data:
            ticket = services.ticket_tags_set(user=request.user, ticket=ticket, tags=data["tags"])
        if "status" in data:
            ticket = services.ticket_status_change(user=request.user, ticket=ticket, status=data["status"])
        return Response(TicketSerializer(self.get_queryset().get(pk=ticket.pk)).data)

    @extend_schema(request=TicketMessageSerializer, responses=TicketMessageSerializer(many=True))
    @action(detail=True, methods=["get", "post"], serializer_class=TicketMessageSerializer)
    def messages(self, request, pk=None, format=None):
        ticket = self.get_object()
        if request.method == "POST":
            serializer = TicketMessageSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            message = services.ticket_reply(
                user=request.user,
                ticket=ticket,
                body=serializer.validated_data["body"],
                internal=serializer.validated_data.get("internal", False),
            )
            return Response(TicketMessageSerializer(message).data, status=status.HTTP_201_CREATED)
        messages = ticket.messages.order_by("created_at", "id")
        page = self.paginate_queryset(messages)
        return self.get_paginated_response(TicketMessageSerializer(page, many=True).data)

    @extend_schema(
        request=InboundEmailSerializer,
        responses={201: InboundResultSerializer, 200: InboundResultSerializer},
        description="Signed by the inbound mail relay (X-Timestamp, X-Signature: sha256=HMAC(secret, ts.body)). "
        "The sender goes in `from` (or `sender`); hyphenated keys such as `message-id` are accepted.",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="inbound-email",
        authentication_classes=[],
        permission_classes=[AllowAny],
        serializer_class=InboundEmailSerializer,
    )
    def inbound_email(self, request, format=None):
        problem = _signature_problem(request)
        if problem is not None:
            code, detail = problem
            return Response({"detail": detail}, status=code)
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return Response({"detail": "The body is not JSON."}, status=status.HTTP_400_BAD_REQUEST)
        if not isinstance(payload, dict):
            return Response({"detail": "The body must be a JSON object."}, status=status.HTTP_400_BAD_REQUEST)
        data = {key.replace("-", "_").lower(): value for key, value in payload.items()}
        if "from" in data:
            data["sender"] = data.pop("from")
        serializer = InboundEmailSerializer(data=data)
        if not serializer.is_valid():
            errors = dict(serializer.errors)
            if "sender" in errors:
                errors["from"] = errors.pop("sender")
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        email = serializer.validated_data
        result = services.inbound_email_receive(
            sender_email=email["sender"]["email"],
            sender_name=email["sender"]["name"],
            subject=email["subject"],
            text=email["text"],
            html=email["html"],
            message_id=email["message_id"],
            in_reply_to=email["in_reply_to"],
            references=email["references"],
        )
        body = {
            "ticket": result.ticket.pk,
            "reference": result.ticket.reference,
            "message": result.message.pk,
            "created_ticket": result.created_ticket,
            "duplicate": result.duplicate,
        }
        return Response(body, status=status.HTTP_200_OK if result.duplicate else status.HTTP_201_CREATED)


# (url prefix, viewset, basename) tuples, mounted under /api/ by cdpcrm/api.py.
ROUTES: list = [("tickets", TicketViewSet, "ticket")]
