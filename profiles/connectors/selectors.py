"""Reads for the connector section of a source page: the inbound URL, recent deliveries, rejections."""

from dataclasses import dataclass

from django.urls import reverse

from profiles.models import Source

from .base import Connector
from .models import WebhookDelivery
from .registry import connector_for
from .services import bad_signatures

DELIVERIES_SHOWN = 20
REJECTED_SHOWN = 10


@dataclass
class ConnectorPanel:
    source: Source
    connector: Connector
    url: str
    setup: str
    deliveries: list[WebhookDelivery]
    rejected: list[WebhookDelivery]
    bad_signatures: list[dict]


def webhook_url(*, source: Source, base_url: str) -> str:
    path = reverse("connector_webhook", args=[source.pk, source.kind])
    connector = connector_for(source.kind)
    suffix = f"?secret={source.connector_secret}" if connector and connector.url_with_secret else ""
    return f"{base_url.rstrip('/')}{path}{suffix}"


def delivery_state(delivery: WebhookDelivery) -> tuple[str, str]:
    """(label, bootstrap colour) of a delivery: rejected, waiting in the inbox, stored, or duplicates only."""
    if delivery.status == WebhookDelivery.Status.REJECTED:
        return "Rejected", "danger"
    batch = delivery.batch
    if batch is None:
        return "Accepted", "success"
    if batch.processed_at is None:
        return ("Set aside", "danger") if batch.failed_at else ("In the inbox", "warning")
    if batch.accepted_count == 0 and batch.rejected_count == 0:
        return "Duplicate (already stored)", "secondary"
    label = f"Stored {batch.accepted_count}"
    already = batch.event_count - batch.accepted_count - batch.rejected_count
    if already > 0:
        label += f", {already} already stored"
    if batch.rejected_count:
        return f"{label}, {batch.rejected_count} refused", "warning"
    return label, "success"


def connector_panel(*, source: Source, base_url: str) -> ConnectorPanel | None:
    """Two queries whatever the delivery log holds (both read the (source, -received_at) indexes)."""
    connector = connector_for(source.kind)
    if connector is None:
        return None
    deliveries = list(
        WebhookDelivery.objects.filter(source=source)
        .select_related("batch")
        .defer("excerpt", "batch__body")
        .order_by("-received_at", "-id")[:DELIVERIES_SHOWN]
    )
    for delivery in deliveries:
        delivery.state_label, delivery.state_colour = delivery_state(delivery)
    rejected = list(
        WebhookDelivery.objects.filter(source=source, status=WebhookDelivery.Status.REJECTED).order_by(
            "-received_at", "-id"
        )[:REJECTED_SHOWN]
    )
    url = webhook_url(source=source, base_url=base_url)
    return ConnectorPanel(
        source=source,
        connector=connector,
        url=url,
        setup=connector.setup.format(url=url),
        deliveries=deliveries,
        rejected=rejected,
        bad_signatures=bad_signatures(source=source),
    )
