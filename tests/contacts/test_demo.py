"""The contacts demo data: realistic spread, loyalty ledgers that add up, and idempotent reruns."""

import io

import pytest

from cdpcrm.demo import demo_users_ensure
from contacts.demo import demo_load
from contacts.models import Activity, Company, Contact, LoyaltyAccount, LoyaltyNote, Tag, Task
from contacts.services import loyalty_balance_matches_ledger

pytestmark = pytest.mark.django_db

MODELS = (Company, Contact, Activity, Task, LoyaltyAccount, LoyaltyNote, Tag, Contact.tags.through)


def _counts() -> dict:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_demo_load_is_realistic_and_a_second_run_creates_nothing():
    users = demo_users_ensure()
    demo_load(users=users, stdout=io.StringIO(), contacts=300, companies=40)
    first = _counts()
    assert first["Company"] == 40 and first["Contact"] == 300
    assert first["Activity"] > 200 and first["LoyaltyAccount"] > 50
    assert (
        Contact.objects.filter(company__isnull=False).exists()
        and Contact.objects.filter(company=None).exists()
    )
    assert set(Contact.objects.values_list("owner__username", flat=True)) >= {"sales", "sales2", "sales3"}
    assert Contact.objects.values("lifecycle_stage").distinct().count() >= 5
    assert Task.objects.filter(assignee=users["sales"], done_at__isnull=True).count() >= 5
    assert all(loyalty_balance_matches_ledger(account) for account in LoyaltyAccount.objects.all())
    out = io.StringIO()
    demo_load(users=users, stdout=out, contacts=300, companies=40)
    assert _counts() == first
    assert "already present" in out.getvalue()


def test_the_demo_shows_company_tags_and_saved_views_on_every_list():
    from contacts.models import SavedView

    users = demo_users_ensure()
    demo_load(users=users, stdout=io.StringIO(), contacts=100, companies=40)
    demo_load(users=users, stdout=io.StringIO(), contacts=100, companies=40)
    assert Company.objects.filter(tags__name="wholesale").exists()
    assert set(SavedView.objects.values_list("list_key", flat=True)) == {
        "contacts",
        "companies",
        "deals",
        "tickets",
    }
    assert SavedView.objects.filter(shared=True).count() == 4 and SavedView.objects.count() == 5
