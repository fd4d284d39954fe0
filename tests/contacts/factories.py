"""Factories for the CRM core (contacts, companies, activities, tasks, loyalty)."""

import datetime

import factory
from django.utils import timezone

from contacts.models import Activity, Company, Contact, LoyaltyAccount, LoyaltyNote, Tag, Task
from tests.factories import UserFactory


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag-{n}")


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example")
    industry = "Retail"
    owner = factory.SubFactory(UserFactory)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    lifecycle_stage = Contact.Lifecycle.LEAD
    owner = factory.SubFactory(UserFactory)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = Activity.Kind.NOTE
    subject = factory.Sequence(lambda n: f"Activity {n}")
    body = "Talked about the new collection."
    occurred_at = factory.LazyFunction(timezone.now)
    contact = factory.SubFactory(ContactFactory)
    author = factory.SubFactory(UserFactory)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    title = factory.Sequence(lambda n: f"Follow up {n}")
    due_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=1))
    assignee = factory.SubFactory(UserFactory)
    contact = factory.SubFactory(ContactFactory)


class LoyaltyAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoyaltyAccount

    contact = factory.SubFactory(ContactFactory)
    tier = LoyaltyAccount.Tier.BRONZE
    member_since = factory.LazyFunction(timezone.localdate)


class LoyaltyNoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoyaltyNote

    account = factory.SubFactory(LoyaltyAccountFactory)
    kind = LoyaltyNote.Kind.NOTE
    text = "Asked about the birthday voucher."
    created_at = factory.LazyFunction(timezone.now)
