"""Services of the CRM core: validation, normalisation, signals and the loyalty ledger invariant."""

import random

import pytest
from django.core.exceptions import ValidationError

from contacts import services
from contacts.models import Activity, LoyaltyNote, RecentView
from contacts.signals import crm_changed
from tests.factories import UserFactory

from .factories import CompanyFactory, ContactFactory, LoyaltyAccountFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory()


def test_contact_create_lowercases_email_and_stores_phone_as_e164(user):
    contact = services.contact_create(
        user=user, first_name="Ana", last_name="Lima", email="  Ana.Lima@Example.COM ", phone="(415) 555-2671"
    )
    contact.refresh_from_db()
    assert contact.email == "ana.lima@example.com"
    assert str(contact.phone) == "+14155552671"
    assert contact.owner == user


def test_contact_email_is_unique_ignoring_case(user):
    services.contact_create(user=user, first_name="Ana", email="ana@example.com")
    with pytest.raises(ValidationError) as error:
        services.contact_create(user=user, first_name="Other", email="ANA@example.com")
    assert "email" in error.value.message_dict


def test_contact_update_keeps_its_own_email(user):
    contact = services.contact_create(user=user, first_name="Ana", email="ana@example.com")
    services.contact_update(contact=contact, user=user, email="ANA@EXAMPLE.com", job_title="Buyer")
    contact.refresh_from_db()
    assert contact.email == "ana@example.com" and contact.job_title == "Buyer"


def test_a_bad_phone_number_is_refused_on_the_phone_field(user):
    with pytest.raises(ValidationError) as error:
        services.contact_create(user=user, first_name="Ana", phone="12")
    assert "phone" in error.value.message_dict


def test_a_contact_needs_a_name_or_an_email(user):
    with pytest.raises(ValidationError) as error:
        services.contact_create(user=user, job_title="Nobody")
    assert "first_name" in error.value.message_dict


def test_tags_are_set_from_names_and_objects(user):
    vip = TagFactory(name="VIP")
    contact = services.contact_create(user=user, first_name="Ana", tags=[vip, "newsletter", "newsletter"])
    assert sorted(contact.tags.values_list("name", flat=True)) == ["VIP", "newsletter"]
    services.contact_update(contact=contact, user=user, tags=["vip"])
    assert list(contact.tags.values_list("name", flat=True)) == ["VIP"]


def test_segment_relevant_changes_are_announced_after_commit(user, django_capture_on_commit_callbacks):
    received = []

    def listener(sender, contact_ids, fact, **kwargs):
        received.append((fact, contact_ids))

    crm_changed.connect(listener)
    try:
        contact = ContactFactory(lifecycle_stage="lead")
        other = UserFactory()
        with django_capture_on_commit_callbacks(execute=True):
            services.contact_update(
                contact=contact, user=user, lifecycle_stage="customer", owner=other, tags=["VIP"]
            )
    finally:
        crm_changed.disconnect(listener)
    assert {fact for fact, _ in received} == {"contact", "lifecycle", "owner", "tag"}
    assert all(ids == [contact.pk] for _, ids in received)


def test_company_domain_is_lowercased_and_unique(user):
    company = services.company_create(user=user, name="Atelier", domain="https://Atelier.Example/")
    assert company.domain == "atelier.example"
    with pytest.raises(ValidationError) as error:
        services.company_create(user=user, name="Copy", domain="ATELIER.example")
    assert "domain" in error.value.message_dict
    services.company_create(user=user, name="No domain 1")
    services.company_create(user=user, name="No domain 2")


def test_activity_needs_a_contact_or_a_company(user):
    with pytest.raises(ValidationError) as error:
        services.activity_create(author=user, kind="call", subject="Hello")
    assert "contact" in error.value.message_dict
    company = CompanyFactory()
    activity = services.activity_create(
        author=user, kind="call", subject="Hello", company=company, direction="out"
    )
    assert activity.occurred_at is not None and Activity.objects.filter(company=company).count() == 1


def test_task_complete_and_reopen(user):
    task = services.task_create(created_by=user, title="Call back", contact=ContactFactory())
    assert task.assignee == user
    services.task_complete(task=task, user=user)
    task.refresh_from_db()
    assert task.is_done
    services.task_reopen(task=task, user=user)
    task.refresh_from_db()
    assert not task.is_done


def test_a_task_needs_a_title(user):
    with pytest.raises(ValidationError) as error:
        services.task_create(created_by=user, title="  ")
    assert "title" in error.value.message_dict


def test_loyalty_redeem_beyond_the_balance_is_refused(user):
    account = services.loyalty_enroll(contact=ContactFactory(), user=user)
    services.loyalty_points_add(account=account, user=user, delta=100, kind="earned")
    with pytest.raises(ValidationError) as error:
        services.loyalty_points_add(account=account, user=user, delta=-150, kind="redeemed")
    assert "points_delta" in error.value.message_dict
    account.refresh_from_db()
    assert account.points_balance == 100
    assert services.loyalty_balance_matches_ledger(account)


def test_loyalty_enroll_twice_is_refused(user):
    contact = ContactFactory()
    services.loyalty_enroll(contact=contact, user=user)
    with pytest.raises(ValidationError):
        services.loyalty_enroll(contact=contact, user=user)


def test_random_loyalty_sequences_keep_balance_equal_to_the_sum_of_deltas(user):
    rng = random.Random(7)
    account = services.loyalty_enroll(contact=ContactFactory(), user=user)
    refused = 0
    for _ in range(80):
        kind = rng.choice(["earned", "redeemed", "adjusted", "tier", "note"])
        try:
            if kind == "earned":
                services.loyalty_points_add(account=account, user=user, delta=rng.randint(1, 300), kind=kind)
            elif kind == "redeemed":
                services.loyalty_points_add(account=account, user=user, delta=-rng.randint(1, 400), kind=kind)
            elif kind == "adjusted":
                services.loyalty_points_add(
                    account=account, user=user, delta=rng.randint(-200, 200) or 1, kind=kind
                )
            elif kind == "tier":
                services.loyalty_tier_change(account=account, user=user, tier=rng.choice(["silver", "gold"]))
            else:
                services.loyalty_note_add(account=account, user=user, text="note")
        except ValidationError:
            refused += 1
        assert services.loyalty_balance_matches_ledger(account)
        account.refresh_from_db()
        assert account.points_balance >= 0
    assert refused > 0  # the sequence really hit the "not enough points" and "same tier" guards
    assert LoyaltyNote.objects.filter(account=account, kind="earned").exists()


def test_balance_check_detects_a_balance_edited_behind_the_ledger(user):
    account = LoyaltyAccountFactory(points_balance=50)
    assert not services.loyalty_balance_matches_ledger(account)


def test_tier_change_records_from_and_to(user):
    account = services.loyalty_enroll(contact=ContactFactory(), user=user)
    note = services.loyalty_tier_change(account=account, user=user, tier="gold", text="Spent a lot")
    assert (note.tier_from, note.tier_to) == ("bronze", "gold")
    with pytest.raises(ValidationError):
        services.loyalty_tier_change(account=account, user=user, tier="gold")


def test_contact_mark_viewed_upserts(user):
    contact = ContactFactory()
    services.contact_mark_viewed(user=user, contact=contact)
    services.contact_mark_viewed(user=user, contact=contact)
    assert RecentView.objects.filter(user=user, contact=contact).count() == 1
