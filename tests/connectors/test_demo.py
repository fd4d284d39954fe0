"""The demo's Shopify, Stripe and SendGrid sources: signed deliveries that reach the demo contacts' timelines."""

import io

import pytest
from django.urls import reverse

from contacts.models import Contact
from profiles.connectors.demo import demo_load
from profiles.connectors.models import WebhookDelivery
from profiles.models import Event

pytestmark = pytest.mark.django_db


def test_demo_connectors_reach_contacts_and_a_second_run_adds_nothing(
    django_capture_on_commit_callbacks, sales_client
):
    for n in range(60):
        Contact.objects.create(first_name=f"P{n}", last_name="Demo", email=f"p{n}@modish.example")
    with django_capture_on_commit_callbacks(execute=True):
        demo_load(users={}, stdout=io.StringIO())
    deliveries, events = WebhookDelivery.objects.count(), Event.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        demo_load(users={}, stdout=io.StringIO())
    assert (WebhookDelivery.objects.count(), Event.objects.count()) == (deliveries, events)
    assert not WebhookDelivery.objects.filter(status="rejected").exists()
    names = set(Event.objects.values_list("source__name", "name"))
    assert {
        ("Shopify store", "Order Completed"),
        ("Shopify store", "Order Refunded"),
        ("Shopify store", "Cart Abandoned"),
        ("Stripe payments", "Subscription Started"),
        ("Stripe payments", "Payment Failed"),
        ("SendGrid", "Email Opened"),
        ("SendGrid", "Email Link Clicked"),
    } <= names
    contact = Contact.objects.get(email="p0@modish.example")
    html = sales_client.get(reverse("profiles:contact_timeline", args=[contact.pk])).content.decode()
    assert "SHOPIFY STORE" in html and "SENDGRID" in html
