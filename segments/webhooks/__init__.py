"""Outbound webhooks on CRM and CDP changes: subscriptions, an outbox written with the change, signed sends."""
