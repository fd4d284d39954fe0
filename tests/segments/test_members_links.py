"""Segment members link to their profile and, when linked, to the CRM contact."""

import pytest
from django.urls import reverse

from profiles.models import Profile
from segments import services

from . import factories as f

pytestmark = pytest.mark.django_db


def test_each_member_row_links_to_the_profile_and_the_contact(marketing_client):
    linked = f.profile(traits={"tier": "gold"}, email="linked@example.com")
    anonymous = f.profile(traits={"tier": "gold"})
    contact = f.contact(email="linked@example.com")
    Profile.objects.filter(pk=linked.pk).update(contact=contact)
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"}, name="Gold members")
    services.segment_recompute(segment_id=seg.pk)
    html = marketing_client.get(reverse("segments:segment_detail", args=[seg.pk])).content.decode()
    assert f'href="{linked.get_absolute_url()}"' in html and f'href="{anonymous.get_absolute_url()}"' in html
    assert f'href="{contact.get_absolute_url()}">{contact.full_name}</a>' in html
    assert "Not linked" in html
