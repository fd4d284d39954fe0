"""The demo's multi-device people go through the real pipeline and merge, linked to their contacts."""

import io

import pytest

from contacts.models import Contact
from profiles.demo import demo_load
from profiles.models import Event, Profile, ProfileMerge

pytestmark = pytest.mark.django_db


def test_demo_second_devices_merge_into_one_profile_per_contact(django_capture_on_commit_callbacks):
    contacts = [
        Contact.objects.create(first_name=f"P{n}", last_name="Demo", email=f"p{n}@modish.example")
        for n in range(6)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        demo_load(users={}, stdout=io.StringIO())

    merges = ProfileMerge.objects.filter(kind="merge")
    assert merges.count() == 2 and set(merges.values_list("rule", flat=True)) == {"identify"}
    for contact in contacts:
        profile = Profile.objects.get(contact=contact, merged_into__isnull=True)
        assert profile.identities.filter(kind="user_id", value=f"cust-{contact.pk}").exists()
    phone_owner = contacts[0].cdp_profile
    assert phone_owner.identities.filter(kind="anonymous_id", value=f"phone-{contacts[0].pk}").exists()
    assert Event.objects.filter(profile=phone_owner, anonymous_id=f"phone-{contacts[0].pk}").count() >= 3
    assert phone_owner.computed_traits["total_events"] == Event.objects.filter(profile=phone_owner).count()
