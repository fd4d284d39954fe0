"""Connectors: vendors' webhooks (Shopify, Stripe, SendGrid, Mailchimp, lead forms) into the CDP inbox."""
