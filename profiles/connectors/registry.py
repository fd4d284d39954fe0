"""The connectors by Source kind."""

from . import leads, mailchimp, sendgrid, shopify, stripe
from .base import Connector

CONNECTORS: dict[str, Connector] = {
    connector.kind: connector
    for connector in (
        shopify.CONNECTOR,
        stripe.CONNECTOR,
        sendgrid.CONNECTOR,
        mailchimp.CONNECTOR,
        leads.GOOGLE_ADS,
        leads.LEAD_WEBHOOK,
    )
}


def connector_for(kind: str) -> Connector | None:
    return CONNECTORS.get(kind)
