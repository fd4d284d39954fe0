"""A segment a journey uses (trigger, branch, goal, exit) cannot be deleted, in the API or the admin."""

import pytest

from segments.models import Segment

pytestmark = pytest.mark.django_db


def _segment(name):
    return Segment.objects.create(name=name, rule={"trait": "tier", "op": "eq", "value": name.lower()})


def _tag(sid, nxt=None):
    return {"id": sid, "type": "tag", "tag": "T", "next": nxt}


@pytest.fixture
def used(make_journey):
    """Four segments, each used by a journey in one place, and one nobody uses."""
    trigger, branch, goal, exit_ = (_segment(n) for n in ("Trigger", "Branch", "Goal", "Exit"))
    make_journey(
        {
            "trigger": {"type": "segment_entered", "segment": trigger.pk},
            "steps": [
                {
                    "id": "b",
                    "type": "branch",
                    "rule": {"all": [{"segment": branch.pk}]},
                    "yes": "t",
                    "no": None,
                },
                _tag("t"),
            ],
            "goal": {"segment": goal.pk},
        },
        name="Welcome series",
    )
    make_journey(
        {
            "trigger": {"type": "event", "event": "X"},
            "steps": [_tag("t")],
            "exit": {"not": {"segment": exit_.pk}},
        },
        name="Win-back",
        live=False,
    )
    return {"trigger": trigger, "branch": branch, "goal": goal, "exit": exit_, "free": _segment("Free")}


def test_the_api_refuses_to_delete_a_segment_a_journey_uses_with_409(marketing_api, used):
    for key, journey in (
        ("trigger", "Welcome series"),
        ("branch", "Welcome series"),
        ("goal", "Welcome series"),
        ("exit", "Win-back"),
    ):
        segment = used[key]
        refused = marketing_api.delete(f"/api/segments/{segment.pk}/")
        assert refused.status_code == 409, key
        body = refused.json()
        assert body["protected_by"] == [f"Journey “{journey}”"]
        assert f"Journey “{journey}”" in body["detail"]
        assert Segment.objects.filter(pk=segment.pk).exists()
    assert marketing_api.delete(f"/api/segments/{used['free'].pk}/").status_code == 204


def test_a_segment_used_only_by_an_old_version_with_profiles_still_on_it_stays(make_journey, marketing_api):
    from profiles.models import Profile
    from segments.journeys import services

    old = _segment("Old")
    journey = make_journey(
        {
            "trigger": {"type": "event", "event": "X"},
            "steps": [
                {"id": "w", "type": "wait", "duration": {"days": 1}, "next": "b"},
                {"id": "b", "type": "branch", "rule": {"segment": old.pk}, "yes": None, "no": None},
            ],
        }
    )
    profile = Profile.objects.create()
    services.profiles_enrol(journey_id=journey.pk, refs={profile.pk: "e"})
    services.journey_save(
        user=None,
        journey=journey,
        name=journey.name,
        definition={"trigger": {"type": "event", "event": "X"}, "steps": [_tag("t")]},
    )
    refused = marketing_api.delete(f"/api/segments/{old.pk}/")
    assert refused.status_code == 409
    assert refused.json()["protected_by"] == ["Journey “Welcome series”"]


def test_the_admin_names_the_journeys_and_keeps_the_segment(marketing_client, used):
    segment = used["trigger"]
    url = f"/admin/segments/segment/{segment.pk}/delete/"
    page = marketing_client.get(url).content.decode()
    assert "Journey “Welcome series”, which uses “Trigger”" in page
    marketing_client.post(url, {"post": "yes"})
    assert Segment.objects.filter(pk=segment.pk).exists()

    action = {
        "action": "delete_selected",
        "_selected_action": [used["exit"].pk, used["free"].pk],
        "post": "yes",
    }
    page = marketing_client.post("/admin/segments/segment/", action).content.decode()
    assert "Journey “Win-back”, which uses “Exit”" in page
    assert Segment.objects.filter(pk__in=[used["exit"].pk, used["free"].pk]).count() == 2
