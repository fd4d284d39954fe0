"""The CRM link: profiles and contacts by e-mail, companies from group calls, unmerge, dry run."""

from datetime import timedelta

import pytest

from contacts.models import Contact
from profiles.models import Event, Group, Identity, Profile, ProfileMerge
from profiles.unify.merge import profile_unmerge
from profiles.unify.resolution import merge_preview
from tests.contacts.factories import CompanyFactory, ContactFactory

from .factories import make_source
from .test_identity import T0, at, profile_of, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def source():
    return make_source()[0]


def test_profile_with_a_contacts_email_links_to_it(source):
    contact = ContactFactory(email="Ann@Example.com")
    send(source, {"type": "identify", "userId": "u1", "traits": {"email": "ann@example.com"}})
    assert profile_of("user_id", "u1").contact == contact


def test_creating_or_editing_a_contact_links_the_existing_profile(source, sales_user):
    send(source, {"type": "identify", "userId": "u1", "traits": {"email": "bob@example.com"}})
    contact = ContactFactory(email="BOB@example.com")
    assert profile_of("user_id", "u1").contact == contact

    send(source, {"type": "identify", "userId": "u2", "traits": {"email": "carol@example.com"}})
    contact.email = "carol@example.com"
    contact.save()
    assert profile_of("user_id", "u2").contact == contact
    assert profile_of("user_id", "u1").contact is None


def test_merge_moves_the_contact_link_to_the_survivor(source):
    contact = ContactFactory(email="dan@example.com")
    send(source, {"type": "page", "anonymousId": "a1", "name": "Home", "timestamp": at(0)})
    send(
        source,
        {"type": "identify", "anonymousId": "a2", "traits": {"email": "dan@example.com"}, "timestamp": at(1)},
    )
    assert profile_of("anonymous_id", "a2").contact == contact
    send(
        source,
        {"type": "identify", "anonymousId": "a1", "traits": {"email": "dan@example.com"}, "timestamp": at(2)},
    )
    survivor = profile_of("anonymous_id", "a1")
    assert survivor == profile_of("anonymous_id", "a2") and survivor.contact == contact
    assert Contact.objects.get().cdp_profile == survivor


def test_group_call_links_the_company_and_keeps_its_traits(source, sales_client):
    company = CompanyFactory(domain="acme.test")
    send(source, {"type": "identify", "userId": "u1"})
    send(
        source,
        {
            "type": "group",
            "userId": "u1",
            "groupId": "g-1",
            "traits": {"name": "Acme", "domain": "acme.test", "employees": 40},
        },
    )
    assert profile_of("user_id", "u1").company == company
    group = Group.objects.get()
    assert group.company == company and group.traits["employees"] == 40
    contact = ContactFactory(email="grace@acme.test")
    send(source, {"type": "identify", "userId": "u1", "traits": {"email": "grace@acme.test"}})
    panel = sales_client.get(f"/cdp/contacts/{contact.pk}/cdp/").content.decode()
    assert company.get_absolute_url() in panel


def test_unmerge_moves_back_identities_and_events_and_records_it(source, marketing_user):
    send(source, {"type": "identify", "anonymousId": "laptop", "userId": "u1", "timestamp": at(0)})
    send(source, {"type": "track", "anonymousId": "phone", "event": "Cart Viewed", "timestamp": at(1)})
    send(
        source,
        {
            "type": "track",
            "anonymousId": "phone",
            "userId": "u1",
            "event": "Order Completed",
            "timestamp": at(2),
        },
    )
    survivor = profile_of("user_id", "u1")
    merge = ProfileMerge.objects.get(kind="merge")
    send(source, {"type": "track", "anonymousId": "phone", "event": "Later", "timestamp": at(3)})

    undo = profile_unmerge(merge=merge, user=marketing_user)

    split = profile_of("anonymous_id", "phone")
    assert split.pk == merge.merged_id and split.merged_into_id is None
    assert set(Event.objects.filter(profile=split).values_list("name", flat=True)) == {"Cart Viewed", "Later"}
    assert set(Event.objects.filter(profile=survivor).values_list("name", flat=True)) == {
        "",
        "Order Completed",
    }
    merge.refresh_from_db()
    assert merge.undone_by == undo and undo.kind == "unmerge" and undo.created_by == marketing_user
    assert Identity.objects.filter(profile=survivor).count() == 2
    with pytest.raises(ValueError):
        profile_unmerge(merge=merge)


def test_after_an_unmerge_each_side_has_only_the_traits_its_own_events_set(source):
    send(
        source,
        {
            "type": "identify",
            "userId": "u1",
            "anonymousId": "laptop",
            "timestamp": at(0),
            "traits": {"email": "ann@example.com", "plan": "basic", "city": "Oslo"},
        },
    )
    send(
        source,
        {
            "type": "identify",
            "anonymousId": "phone",
            "timestamp": at(1),
            "traits": {"email": "bob@example.com", "plan": "pro"},
        },
    )
    # A shared device: Ann's user id on Bob's phone ties the two people together.
    send(
        source,
        {"type": "track", "userId": "u1", "anonymousId": "phone", "event": "Viewed", "timestamp": at(2)},
    )
    ann = profile_of("user_id", "u1")
    assert ann.traits["plan"] == "pro"  # Bob's newer values won on the merged profile

    profile_unmerge(merge=ProfileMerge.objects.get(kind="merge"))

    ann.refresh_from_db()
    bob = profile_of("anonymous_id", "phone")
    assert ann.traits == {"email": "ann@example.com", "plan": "basic", "city": "Oslo"}
    assert bob.traits == {"email": "bob@example.com", "plan": "pro"}
    assert bob.first_seen == bob.last_seen == T0 + timedelta(minutes=1)
    assert ann.last_seen == T0 + timedelta(minutes=2)  # the event that tied them stays with the survivor
    assert ann.computed_traits["total_events"] == 2 and bob.computed_traits["total_events"] == 1


def test_dry_run_says_what_would_merge_without_writing(source):
    send(source, {"type": "identify", "userId": "u1", "anonymousId": "a1"})
    send(source, {"type": "identify", "userId": "u2", "anonymousId": "a2"})
    send(source, {"type": "page", "anonymousId": "a3", "name": "Home"})
    preview = merge_preview(identifiers=[("anonymous_id", "a1"), ("anonymous_id", "a3")])
    assert [(m.kind, m.merged) for m in preview.merges] == [("merge", profile_of("anonymous_id", "a3").pk)]
    refused = merge_preview(identifiers=[("anonymous_id", "a1"), ("anonymous_id", "a2")])
    assert [m.kind for m in refused.merges] == ["refused"]
    assert not ProfileMerge.objects.exists() and Profile.objects.count() == 3


def test_profile_pages_show_ledger_dry_run_and_unmerge(source, marketing_client):
    send(source, {"type": "identify", "anonymousId": "x1", "userId": "u1", "timestamp": at(0)})
    send(source, {"type": "page", "anonymousId": "x2", "name": "Home", "timestamp": at(1)})
    send(source, {"type": "identify", "anonymousId": "x2", "userId": "u1", "timestamp": at(2)})
    profile = profile_of("user_id", "u1")
    page = marketing_client.get(profile.get_absolute_url()).content.decode()
    assert "Merge ledger" in page and "identify" in page and "Unmerge" in page
    dry = marketing_client.get(profile.get_absolute_url() + "?identifier=nonsense").content.decode()
    assert "Write an identifier as kind:value" in dry
    merge = ProfileMerge.objects.get()
    response = marketing_client.post(f"/cdp/profiles/{profile.pk}/unmerge/{merge.pk}/")
    assert response.status_code == 302 and profile_of("anonymous_id", "x2").pk == merge.merged_id
    listing = marketing_client.get("/cdp/profiles/?q=u1").content.decode()
    assert profile.get_absolute_url() in listing


def test_company_page_shows_the_cdp_account_panel(source, sales_client):
    company = CompanyFactory(domain="globex.test")
    send(
        source, {"type": "group", "userId": "u9", "groupId": "globex.test", "traits": {"plan": "enterprise"}}
    )
    page = sales_client.get(company.get_absolute_url()).content.decode()
    assert f"/cdp/companies/{company.pk}/cdp/" in page
    panel = sales_client.get(f"/cdp/companies/{company.pk}/cdp/").content.decode()
    assert "enterprise" in panel and "1 CDP profile belongs" in panel
