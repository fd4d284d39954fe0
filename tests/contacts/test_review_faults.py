"""Faults found in review: loyalty signs, one activity date rule and one set of labels, the OOB feed swap."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Activity, LoyaltyAccount

from .factories import ActivityFactory, ContactFactory, LoyaltyAccountFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _points(client, contact, kind: str, points: str):
    url = reverse("contacts:contact_loyalty", args=[contact.pk, "points"])
    return client.post(url, {"kind": kind, "points_delta": points, "text": "test"}, **HTMX)


def test_add_points_with_a_negative_number_is_refused_not_added(support_client):
    contact = ContactFactory()
    account = LoyaltyAccountFactory(contact=contact, points_balance=0)
    response = _points(support_client, contact, "earned", "-999999")
    assert "Added points are a positive number" in response.content.decode()
    account.refresh_from_db()
    assert account.points_balance == 0


def test_earned_redeemed_and_adjusted_points_are_signed_and_shown_apart(support_client):
    contact = ContactFactory()
    account = LoyaltyAccountFactory(contact=contact, points_balance=0)
    _points(support_client, contact, "earned", "500")
    _points(support_client, contact, "redeemed", "120")
    refused = _points(support_client, contact, "redeemed", "-50")
    assert "Redeemed points leave the balance" in refused.content.decode()
    too_much = _points(support_client, contact, "redeemed", "10000")
    assert "Not enough points: the balance is 380." in too_much.content.decode()
    adjusted = _points(support_client, contact, "adjusted", "-30")
    account.refresh_from_db()
    assert account.points_balance == 350
    html = adjusted.content.decode()
    assert re.search(r'data-total="earned">\+500<', html)
    assert re.search(r'data-total="redeemed">-120<', html)
    assert re.search(r'data-total="adjusted">-30<', html)
    assert list(account.notes.exclude(kind="note").values_list("kind", "points_delta").order_by("id")) == [
        ("earned", 500),
        ("redeemed", -120),
        ("adjusted", -30),
    ]


@pytest.mark.parametrize("when", ["2030-01-01T10:00", "1900-06-01T10:00"])
def test_contact_and_deal_activities_refuse_the_same_dates(sales_client, sales_user, when):
    from tests.pipeline.factories import deal_make

    contact = ContactFactory()
    deal = deal_make(user=sales_user, contact=contact)
    data = {"kind": "call", "subject": "Check-in", "occurred_at": when}
    on_contact = sales_client.post(
        reverse("contacts:contact_activity_create", args=[contact.pk]), data, **HTMX
    )
    on_deal = sales_client.post(reverse("pipeline:deal_activity_create", args=[deal.pk]), data, **HTMX)
    contact_error = on_contact.context["activity_form"].errors["occurred_at"]
    deal_error = on_deal.context["activity_form"].errors["occurred_at"]
    assert contact_error == deal_error and contact_error[0]
    assert not Activity.objects.exists()
    ok = dict(
        data, occurred_at=(timezone.localtime() - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    )
    sales_client.post(reverse("contacts:contact_activity_create", args=[contact.pk]), ok, **HTMX)
    assert Activity.objects.count() == 1


def test_contact_and_deal_activity_forms_use_one_set_of_labels(sales_client, sales_user):
    from tests.pipeline.factories import deal_make

    contact = ContactFactory()
    deal = deal_make(user=sales_user, contact=contact)
    contact_form = sales_client.get(contact.get_absolute_url()).context["activity_form"]
    deal_form = sales_client.get(deal.get_absolute_url()).context["activity_form"]
    labels = {name: field.label for name, field in contact_form.fields.items()}
    assert labels == {name: field.label for name, field in deal_form.fields.items()}
    contact_tasks = sales_client.get(contact.get_absolute_url()).context["task_form"]
    deal_tasks = sales_client.get(deal.get_absolute_url()).context["task_form"]
    assert [f.label for f in contact_tasks.fields.values()] == [f.label for f in deal_tasks.fields.values()]


def test_logging_on_a_busy_feed_swaps_into_targets_that_exist_and_asks_panels_to_reload(sales_client):
    contact = ContactFactory()
    ActivityFactory(contact=contact)
    page = sales_client.get(contact.get_absolute_url()).content.decode()
    assert 'id="activity-empty"' in page  # hidden, but there for the swap
    response = sales_client.post(
        reverse("contacts:contact_activity_create", args=[contact.pk]), {"kind": "note", "body": "Hi"}, **HTMX
    )
    html = response.content.decode()
    for target in re.findall(r'hx-swap-oob="[a-z]+:#([\w-]+)"', html) + re.findall(
        r'id="([\w-]+)"[^>]*hx-swap-oob="true"', html
    ):
        assert f'id="{target}"' in page
    assert "crm-contact-changed" in response["HX-Trigger"]
    assert LoyaltyAccount.objects.count() == 0
