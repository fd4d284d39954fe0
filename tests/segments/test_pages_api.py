"""Segment pages, the contact panel, CSV export, builder endpoints and the REST API, with permissions."""

import csv
import datetime
import io
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from profiles.models import ComputedTrait
from segments import services
from segments.models import Delivery, Destination, Segment, SegmentSize

from . import factories as f

pytestmark = pytest.mark.django_db


def _gold_segment(n_members: int, name: str = "Gold") -> Segment:
    for i in range(n_members):
        f.profile(traits={"tier": "gold", "name": f"Member {i}"}, email=f"m{i}-{name.lower()}@example.com")
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"}, name=name)
    services.segment_recompute(segment_id=seg.pk)
    return seg


def test_list_shows_size_sentence_and_sparkline(sales_client):
    seg = _gold_segment(2)
    today = timezone.localdate()
    SegmentSize.objects.update_or_create(
        segment=seg, day=today - datetime.timedelta(days=1), defaults={"size": 1}
    )
    response = sales_client.get(reverse("segments:segment_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "tier is “gold”" in html
    assert "<polyline" in html and "Daily size, last 30 days: 1, 2" in html
    assert "New segment" not in html  # sales read segments, they do not edit them


def test_list_query_count_does_not_grow_with_segments(sales_client, django_assert_max_num_queries):
    _gold_segment(1, "A")
    url = reverse("segments:segment_list")
    sales_client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        sales_client.get(url)
    for i in range(5):
        _gold_segment(1, f"More {i}")
    with CaptureQueriesContext(connection) as many:
        sales_client.get(url)
    assert len(many) == len(few)


def test_detail_pages_members_with_search(marketing_client):
    seg = _gold_segment(30)
    url = reverse("segments:segment_detail", args=[seg.pk])
    first = marketing_client.get(url).content.decode()
    assert "1–25 of 30" in first
    assert "size-chart" in first and "vendor/chartjs/chart.umd.min.js" in first
    found = marketing_client.get(url, {"q": "m7-gold@"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="members")
    body = found.content.decode()
    assert "m7-gold@example.com" in body and "m8-gold@example.com" not in body
    assert "<html" not in body


def test_detail_shows_deliveries_and_replay_requires_change_permission(
    marketing_client, sales_user, django_capture_on_commit_callbacks
):
    from django.test import Client

    sales_client = Client()
    sales_client.force_login(sales_user)
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    dest = Destination.objects.create(
        segment=seg, name="Dead hook", kind="webhook", url="http://127.0.0.1:9/x"
    )
    prof = f.profile(traits={"tier": "gold"})
    with django_capture_on_commit_callbacks(execute=True):
        services.segment_profiles_recheck(segment_id=seg.pk, profile_ids=[prof.pk])
    delivery = Delivery.objects.get(destination=dest)
    page = marketing_client.get(reverse("segments:segment_detail", args=[seg.pk])).content.decode()
    assert "Dead hook" in page and "Retrying" in page
    replay_url = reverse("segments:delivery_replay", args=[delivery.pk])
    assert sales_client.post(replay_url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert marketing_client.post(replay_url).status_code == 302
    assert Delivery.objects.filter(destination=dest).count() == 2


def test_support_cannot_see_segments(support_client):
    assert support_client.get(reverse("segments:segment_list")).status_code == 403


def test_csv_export_has_chosen_traits(sales_client):
    seg = _gold_segment(3)
    response = sales_client.get(reverse("segments:segment_export", args=[seg.pk]), {"traits": "name,tier"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["profile_id", "entered_at", "email", "user_id", "name", "tier"]
    assert sorted(r[4] for r in rows[1:]) == ["Member 0", "Member 1", "Member 2"]
    assert response["Content-Disposition"] == 'attachment; filename="segment-gold.csv"'


def test_contact_panel_lists_the_segments_of_the_linked_profile(sales_client):
    seg = _gold_segment(1)
    contact = f.contact(email="m0-gold@example.com")
    other = f.contact(email="nobody@example.com")
    html = sales_client.get(reverse("segments:contact_segments", args=[contact.pk])).content.decode()
    assert seg.name in html and reverse("segments:segment_detail", args=[seg.pk]) in html
    assert (
        "Not in any segment"
        in sales_client.get(reverse("segments:contact_segments", args=[other.pk])).content.decode()
    )


def test_profile_badges_partial_lists_current_segments(sales_client):
    seg = _gold_segment(1)
    member = seg.memberships.get().profile
    html = sales_client.get(reverse("segments:profile_segments", args=[member.pk])).content.decode()
    assert seg.name in html
    outsider = f.profile()
    assert (
        "Not in any segment"
        in sales_client.get(reverse("segments:profile_segments", args=[outsider.pk])).content.decode()
    )


def test_contact_panel_is_registered_for_the_contact_page():
    from contacts.panels import CONTACT_PANELS

    panel = CONTACT_PANELS["segments"]
    assert (panel.url_name, panel.placement, panel.permission) == (
        "segments:contact_segments",
        "side",
        "segments.view_segment",
    )


def test_builder_preview_estimates_size_and_reports_errors_by_path(marketing_client, sales_user):
    from django.test import Client

    sales_client = Client()
    sales_client.force_login(sales_user)
    _gold_segment(3)
    url = reverse("segments:builder_preview")
    rule = {"all": [{"trait": "tier", "op": "eq", "value": "gold"}]}
    ok = marketing_client.post(url, data=json.dumps({"rule": rule}), content_type="application/json").json()
    assert ok["count"] == 3 and len(ok["sample"]) == 3 and ok["sentence"] == "tier is “gold”"
    bad = marketing_client.post(
        url,
        data=json.dumps({"rule": {"all": [{"trait": "tier", "op": "is", "value": 1}]}}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "all[0].op"
    assert (
        sales_client.post(url, data=json.dumps({"rule": rule}), content_type="application/json").status_code
        == 403
    )


def test_builder_suggests_seen_events_properties_and_traits(marketing_client):
    prof = f.profile(traits={"tier": "gold", "age": 3})
    f.event(prof, "Product Added", category="shoes", price=12.5)
    data = marketing_client.get(reverse("segments:builder_suggestions"), {"event": "Product Added"}).json()
    assert data["events"] == ["Product Added"]
    assert data["properties"] == [{"name": "category", "type": "text"}, {"name": "price", "type": "number"}]
    assert {"name": "age", "type": "number"} in data["traits"]
    assert "between" in data["ops_by_type"]["number"]


def test_builder_suggests_built_in_and_admin_defined_computed_traits(marketing_client):
    ComputedTrait.objects.create(
        key="lifetime_revenue",
        label="Revenue",
        aggregation="sum",
        event_name="Order Completed",
        property="revenue",
    )
    ComputedTrait.objects.create(
        key="top_category", label="Top category", aggregation="most_frequent", property="category"
    )
    computed = marketing_client.get(reverse("segments:builder_suggestions")).json()["computed_traits"]
    assert {"name": "last_seen", "type": "date"} in computed
    assert {"name": "lifetime_revenue", "type": "number"} in computed
    assert {"name": "top_category", "type": "text"} in computed


# --- API -----------------------------------------------------------------------------------------------


def test_api_create_validates_rule_with_paths(marketing_api):
    bad = marketing_api.post(
        "/api/segments/",
        {"name": "X", "rule": {"any": [{"trait": "a", "op": "zz", "value": 1}]}},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["rule"][0].startswith("any[0].op:")
    good = marketing_api.post(
        "/api/segments/",
        {"name": "Pro", "rule": {"trait": "plan", "op": "eq", "value": "pro"}},
        format="json",
    )
    assert good.status_code == 201, good.content
    assert good.json()["sentence"] == "plan is “pro”"


def test_api_sales_reads_but_cannot_write(sales_api):
    seg = _gold_segment(2)
    assert sales_api.get("/api/segments/").json()["results"][0]["member_count"] == 2
    assert (
        sales_api.post(
            "/api/segments/",
            {"name": "N", "rule": {"trait": "a", "op": "exists", "value": True}},
            format="json",
        ).status_code
        == 403
    )
    assert sales_api.patch(f"/api/segments/{seg.pk}/", {"name": "Renamed"}, format="json").status_code == 403


def test_api_members_are_paginated_and_preview_counts(marketing_api):
    seg = _gold_segment(3)
    members = marketing_api.get(f"/api/segments/{seg.pk}/members/").json()
    assert members["count"] == 3 and members["results"][0]["traits"]["tier"] == "gold"
    preview = marketing_api.get(f"/api/segments/{seg.pk}/preview/").json()
    assert preview["count"] == 3
    other = marketing_api.post(
        f"/api/segments/{seg.pk}/preview/",
        {"rule": {"trait": "tier", "op": "eq", "value": "x"}},
        format="json",
    ).json()
    assert other["count"] == 0
    export = marketing_api.get(f"/api/segments/{seg.pk}/export/?traits=tier")
    assert b"".join(export.streaming_content).decode().count(",gold\r\n") == 3


# --- admin builder -------------------------------------------------------------------------------------


def test_admin_builder_saves_through_the_service_and_versions_edits(
    marketing_client, django_capture_on_commit_callbacks
):
    f.profile(traits={"plan": "pro"})
    add = marketing_client.get("/admin/segments/segment/add/")
    assert (
        add.status_code == 200
        and b"rule-builder" in add.content
        and b"segments/rule_builder.js" in add.content
    )
    form = {
        "name": "Pro",
        "description": "",
        "is_active": "on",
        "rule": json.dumps({"all": [{"trait": "plan", "op": "eq", "value": "pro"}]}),
        "destinations-TOTAL_FORMS": "0",
        "destinations-INITIAL_FORMS": "0",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = marketing_client.post("/admin/segments/segment/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    seg = Segment.objects.get(name="Pro")
    assert seg.member_count == 1
    bad = marketing_client.post(
        f"/admin/segments/segment/{seg.pk}/change/",
        {**form, "rule": json.dumps({"all": [{"trait": "plan", "op": "like", "value": 1}]})},
    )
    assert bad.status_code == 200 and "all[0].op: unknown operator" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        marketing_client.post(f"/admin/segments/segment/{seg.pk}/change/", {**form, "name": "Pro plan"})
    history = list(seg.history.order_by("history_date"))
    assert [h.name for h in history] == ["Pro", "Pro plan"]
    assert history[-1].history_user.username == "maya.marketing"


def test_only_marketing_and_admin_reach_the_segment_editor(sales_client):
    response = sales_client.get("/admin/segments/segment/add/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert sales_client.get(reverse("segments:builder_suggestions")).status_code == 403


def test_detail_query_count_does_not_grow_with_members(marketing_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small, large = _gold_segment(2, "Small"), _gold_segment(30, "Large")
    marketing_client.get(reverse("segments:segment_detail", args=[small.pk]))
    with CaptureQueriesContext(connection) as few:
        marketing_client.get(reverse("segments:segment_detail", args=[small.pk]))
    with CaptureQueriesContext(connection) as many:
        marketing_client.get(reverse("segments:segment_detail", args=[large.pk]))
    assert len(many) == len(few)


def test_a_segment_another_segment_uses_cannot_be_deleted_by_the_api(marketing_api):
    vip = _gold_segment(1, name="VIP")
    berlin = f.segment({"all": [{"segment": vip.pk}, {"trait": "city", "op": "eq", "value": "Berlin"}]})

    refused = marketing_api.delete(f"/api/segments/{vip.pk}/")

    assert refused.status_code == 409
    assert refused.json()["used_by"] == [berlin.pk]
    assert f"“{berlin.name}”" in refused.json()["detail"]
    assert Segment.objects.filter(pk=vip.pk).exists() and vip.memberships.exists()
    assert marketing_api.delete(f"/api/segments/{berlin.pk}/").status_code == 204
    assert marketing_api.delete(f"/api/segments/{vip.pk}/").status_code == 204  # nothing uses it now


def test_the_admin_lists_the_segments_that_use_one_and_keeps_it(marketing_client):
    vip = _gold_segment(1, name="VIP")
    berlin = f.segment({"not": {"segment": vip.pk}}, name="Not VIP")
    url = f"/admin/segments/segment/{vip.pk}/delete/"

    page = marketing_client.get(url)
    assert "Segment “Not VIP”, whose rule uses “VIP”" in page.content.decode()
    marketing_client.post(url, {"post": "yes"})
    assert Segment.objects.filter(pk=vip.pk).exists()

    action = {"action": "delete_selected", "_selected_action": [vip.pk, berlin.pk], "post": "yes"}
    marketing_client.post("/admin/segments/segment/", action)  # both at once: nothing is left dangling
    assert not Segment.objects.filter(pk__in=[vip.pk, berlin.pk]).exists()


def test_api_segment_errors_follow_the_contract(marketing_api):
    unknown = marketing_api.post(
        "/api/segments/",
        {"name": "X", "rule": {"trait": "plan", "op": "eq", "value": "pro"}, "colour": "red"},
        format="json",
    )
    assert unknown.status_code == 400 and unknown.json() == {"colour": ["This field does not exist here."]}
    blank = marketing_api.post(
        "/api/segments/", {"name": "", "rule": {"trait": "plan", "op": "eq", "value": "p"}}, format="json"
    )
    assert blank.status_code == 400 and isinstance(blank.json()["name"], list)
