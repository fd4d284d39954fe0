"""The journeys API (OpenAPI), the journey page (diagram counts, chart), profile paths and the timeline."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts import services as contact_services
from profiles.models import Profile
from profiles.unify.timeline import timeline_page
from segments.journeys import services
from segments.journeys.models import Enrolment
from segments.journeys.sweeper import due_steps_process

pytestmark = pytest.mark.django_db

DEFINITION = {
    "trigger": {"type": "event", "event": "Signed Up"},
    "steps": [
        {"id": "wait", "type": "wait", "duration": {"days": 2}, "next": "tag"},
        {"id": "tag", "type": "tag", "tag": "welcomed", "next": None},
    ],
    "goal": {"trait": "plan", "op": "eq", "value": "pro"},
}


def test_api_create_publish_pause_resume_update_and_enrolments(marketing_api):
    bad = marketing_api.post(
        "/api/journeys/", {"name": "Bad", "definition": {"trigger": {}, "steps": []}}, format="json"
    )
    assert bad.status_code == 400 and any("steps" in m for m in bad.json()["definition"])
    typo = marketing_api.post(
        "/api/journeys/", {"name": "T", "definition": DEFINITION, "stauts": "live"}, format="json"
    )
    assert typo.status_code == 400 and "stauts" in typo.json()
    created = marketing_api.post(
        "/api/journeys/", {"name": "Welcome", "definition": DEFINITION}, format="json"
    )
    assert created.status_code == 201, created.content
    journey_id = created.json()["id"]
    assert created.json()["status"] == "draft" and created.json()["live_version"] is None
    published = marketing_api.post(f"/api/journeys/{journey_id}/publish/")
    assert published.json()["status"] == "live" and published.json()["live_version"] == 1
    refused = marketing_api.post(f"/api/journeys/{journey_id}/resume/")
    assert refused.status_code == 400 and refused.json() == {
        "status": ["Only a paused journey can be resumed."]
    }
    assert marketing_api.post(f"/api/journeys/{journey_id}/pause/").json()["status"] == "paused"
    assert marketing_api.post(f"/api/journeys/{journey_id}/resume/").json()["status"] == "live"
    edited = {**DEFINITION, "steps": [DEFINITION["steps"][0], {**DEFINITION["steps"][1], "tag": "hello"}]}
    updated = marketing_api.patch(f"/api/journeys/{journey_id}/", {"definition": edited}, format="json")
    assert updated.json()["live_version"] == 2  # editing a live journey publishes
    profile = Profile.objects.create()
    services.profiles_enrol(journey_id=journey_id, refs={profile.pk: "api"})
    rows = marketing_api.get(f"/api/journeys/{journey_id}/enrolments/?state=active").json()
    assert (
        rows["count"] == 1
        and rows["results"][0]["profile"] == profile.pk
        and rows["results"][0]["version"] == 2
    )
    assert marketing_api.get(f"/api/journeys/{journey_id}/enrolments/?state=converted").json()["count"] == 0
    assert marketing_api.get("/api/journeys/").json()["count"] == 1


def test_api_permissions(sales_api):
    assert sales_api.get("/api/journeys/").status_code == 200
    assert (
        sales_api.post("/api/journeys/", {"name": "X", "definition": DEFINITION}, format="json").status_code
        == 403
    )


def test_journeys_are_in_the_openapi_schema(admin_client_role):
    schema = admin_client_role.get("/api/schema/").content.decode()
    for path in (
        "/api/journeys/",
        "/api/journeys/{id}/enrolments/",
        "/api/journeys/{id}/pause/",
        "/api/webhooks/",
        "/api/webhook-deliveries/{id}/replay/",
    ):
        assert path in schema


def _live_with_people(count: int):
    journey = services.journey_save(user=None, name="Welcome", definition=DEFINITION)
    services.journey_publish(journey=journey, user=None)
    profiles = [Profile.objects.create(traits={"email": f"p{n}@example.com"}) for n in range(count)]
    now = timezone.now()
    services.profiles_enrol(journey_id=journey.pk, refs={p.pk: "x" for p in profiles}, now=now)
    due_steps_process(now=now)
    return journey, profiles


@pytest.mark.parametrize("count", [1, 30])
def test_journey_page_shows_counts_at_each_step_in_a_fixed_number_of_queries(
    count, marketing_client, django_assert_num_queries
):
    journey, _ = _live_with_people(count)
    url = reverse("journeys:journey_detail", args=[journey.pk])
    # session, user, 2 permissions, groups (navigation), journey, counts per step (the StepCount rows),
    # entering (a capped count), totals and days (the per-day counters), newest enrolments (keyset, no
    # COUNT): the same for 1 or 30 profiles
    with django_assert_num_queries(11):
        html = marketing_client.get(url).content.decode()
    assert 'data-step="wait"' in html and f'data-here="{count}"' in html
    assert f'data-total="entered">{count}<' in html and f'data-total="active">{count}<' in html
    if count == 30:
        assert "Older enrolments" in html
        older = re.search(r'href="\?before=([^"]+)"', html).group(1)
        rest = marketing_client.get(f"{url}?before={older}", headers={"HX-Request": "true"}).content.decode()
        assert rest.count("list-group-item") == 5 and "Older enrolments" not in rest
    assert "journey-over-time" in html and "<script>" not in html


def test_journey_list_and_empty_states(marketing_client, sales_client):
    assert "No journeys yet" in marketing_client.get(reverse("journeys:journey_list")).content.decode()
    _live_with_people(1)
    assert "Welcome" in sales_client.get(reverse("journeys:journey_list")).content.decode()


def test_profile_path_panel_and_contact_timeline(sales_client):
    journey, (profile,) = _live_with_people(1)
    contact = contact_services.contact_create(user=None, first_name="Ann", email="p0@example.com")
    Profile.objects.filter(pk=profile.pk).update(contact=contact)
    due_steps_process(now=timezone.now() + datetime.timedelta(days=2, seconds=1))
    panel = sales_client.get(reverse("journeys:profile_journeys", args=[profile.pk])).content.decode()
    assert "Entered Welcome" in panel and "Waited 2 days" in panel and "Added tag “welcomed”" in panel
    assert (
        "Entered Welcome"
        in sales_client.get(reverse("journeys:contact_journeys", args=[contact.pk])).content.decode()
    )
    page = timeline_page(profile=profile, contact=contact, kind="journey")
    assert [i.summary for i in page.items][:2] == [
        "Welcome: Completed the journey",
        "Welcome: Added tag “welcomed”",
    ]
    detail = sales_client.get(reverse("profiles:profile_detail", args=[profile.pk])).content.decode()
    assert reverse("journeys:profile_journeys", args=[profile.pk]) in detail
    assert Enrolment.objects.get().state == "completed"
