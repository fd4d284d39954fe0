"""Audience destinations: batched adds/removes, normalised and hashed identifiers, field mapping, and the
Mailchimp, Meta and webhook formats checked by local fake servers written from the vendors' documentation."""

import base64
import hashlib
import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from profiles.models import Identity, Profile
from segments import services as segment_services
from segments.audiences import services
from segments.audiences.identifiers import email_normalise, phone_normalise
from segments.audiences.models import AudienceDestination, AudienceMember, AudienceSync
from segments.models import Segment

from ..webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db
DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(autouse=True)
def _allow_local(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _profile(email, phone=None, **traits):
    profile = Profile.objects.create(traits={"email": email, **traits})
    Identity.objects.create(profile=profile, kind="email", value=email.strip().lower())
    if phone:
        Identity.objects.create(profile=profile, kind="phone", value=phone)
    return profile


def test_identifiers_are_normalised_as_customer_match_requires():
    assert email_normalise("  Ann@Example.COM ") == "ann@example.com"
    assert phone_normalise("(415) 555-2671") == "+14155552671"
    assert phone_normalise("+44 20 7946 0958") == "+442079460958"
    assert phone_normalise("not a phone") is None


def _gold_segment():
    return Segment.objects.create(name="Gold", rule={"trait": "tier", "op": "eq", "value": "gold"})


def _fake_mailchimp(expected_key):
    spec = json.loads((DATA / "mailchimp_batch_subscribe.json").read_text())

    def handle(request):
        auth = base64.b64decode(request["headers"]["Authorization"].split()[1]).decode()
        body = json.loads(request["body"])
        ok = (
            request["method"] == "POST"
            and request["path"] == "/3.0/lists/list123"
            and auth.split(":", 1)[1] == expected_key
            and set(body) == set(spec["request"])
            and body["update_existing"] is True
            and len(body["members"]) <= 500
            and all(
                set(m) <= {"email_address", "status", "merge_fields"}
                and m["status"] in ("subscribed", "unsubscribed")
                for m in body["members"]
            )
        )
        if not ok:
            return 400, b'{"title": "Invalid Resource"}'
        return 200, json.dumps({**spec["response"], "error_count": 0}).encode()

    return Receiver(handler=handle)


def test_mailchimp_batches_adds_and_removes_with_merge_fields():
    server = _fake_mailchimp("key-us21")
    try:
        segment = _gold_segment()
        destination = AudienceDestination.objects.create(
            name="Newsletter",
            kind="mailchimp",
            segment=segment,
            url=server.base,
            list_id="list123",
            api_key="key-us21",
            field_mapping={"first_name": "FNAME"},
            batch_size=2,
        )
        people = [_profile(f"p{i}@example.com", tier="gold", first_name=f"P{i}") for i in range(3)]
        segment_services.segment_profiles_recheck(segment_id=segment.pk, profile_ids=[p.pk for p in people])
        assert services.destination_sync(destination_id=destination.pk) == 3
        bodies = [json.loads(r["body"]) for r in server.requests]
        assert [len(b["members"]) for b in bodies] == [2, 1]  # batches of batch_size, not one per profile
        assert bodies[0]["members"][0] == {
            "email_address": "p0@example.com",
            "status": "subscribed",
            "merge_fields": {"FNAME": "P0"},
        }
        Profile.objects.filter(pk=people[0].pk).update(traits={"tier": "silver", "email": "p0@example.com"})
        segment_services.segment_profiles_recheck(segment_id=segment.pk, profile_ids=[people[0].pk])
        services.destination_sync(destination_id=destination.pk)
        last = json.loads(server.requests[-1]["body"])
        assert last["members"] == [{"email_address": "p0@example.com", "status": "unsubscribed"}]
        assert AudienceSync.objects.filter(ok=True).count() == 3
    finally:
        server.close()


def test_meta_uploads_hashed_rows_in_a_session_and_deletes_removed_members():
    spec = json.loads((DATA / "meta_custom_audience_users.json").read_text())
    seen = []

    def handle(request):
        form = {k: v[0] for k, v in parse_qs(request["body"].decode()).items()}
        payload = json.loads(form["payload"])
        seen.append(
            (request["method"], payload, json.loads(form.get("session", "null")), form["access_token"])
        )
        ok = (
            request["path"] == "/555/users"
            and payload["schema"][:2] == spec["request"]["payload"]["schema"]
            and all(len(v) in (0, 64) for row in payload["data"] for v in row)
            and len(payload["data"]) <= 10000
        )
        return (200, json.dumps(spec["response"]).encode()) if ok else (400, b'{"error": {"code": 100}}')

    server = Receiver(handler=handle)
    try:
        destination = AudienceDestination.objects.create(
            name="Lookalikes", kind="meta", url=server.base, list_id="555", api_key="token-1", batch_size=2
        )
        people = [_profile(f"M{i}@Example.com ", phone="+14155552671" if i == 0 else None) for i in range(3)]
        services.audience_members_change(
            destination_id=destination.pk,
            profile_ids=[p.pk for p in people],
            add=True,
            now=people[0].created_at,
        )
        assert services.destination_sync(destination_id=destination.pk) == 3
        (m1, p1, s1, token), (_m2, _p2, s2, _t) = seen
        assert m1 == "POST" and token == "token-1"
        assert p1["data"][0] == [
            sha("m0@example.com"),
            sha("14155552671"),
        ]  # trimmed, lower-cased; digits only
        assert (s1["batch_seq"], s1["last_batch_flag"], s2["batch_seq"], s2["last_batch_flag"]) == (
            1,
            False,
            2,
            True,
        )
        assert s1["session_id"] == s2["session_id"] and s1["estimated_num_total"] == 3
        services.audience_members_change(
            destination_id=destination.pk, profile_ids=[people[1].pk], add=False, now=people[0].created_at
        )
        services.destination_sync(destination_id=destination.pk)
        assert seen[-1][0] == "DELETE" and seen[-1][1]["data"] == [[sha("m1@example.com"), ""]]
    finally:
        server.close()


def test_audience_webhook_batch_is_signed_and_a_failure_is_retried_with_the_same_members():
    server = Receiver()
    server.codes = [500]
    try:
        destination = AudienceDestination.objects.create(
            name="Generic", kind="webhook", url=server.url, field_mapping={"plan": "tier"}
        )
        profile = _profile("ann@example.com", plan="pro")
        services.audience_members_change(
            destination_id=destination.pk, profile_ids=[profile.pk], add=True, now=profile.created_at
        )
        assert services.destination_sync(destination_id=destination.pk) == 0
        assert not AudienceMember.objects.get().synced
        destination.refresh_from_db()
        assert destination.failures == 1 and destination.last_status == "HTTP 500 Internal Server Error"
        assert services.destination_sync(destination_id=destination.pk) == 1
        body = json.loads(server.requests[-1]["body"])
        assert body["adds"] == [
            {
                "profile_id": profile.pk,
                "email_sha256": [sha("ann@example.com")],
                "phone_sha256": [],
                "fields": {"tier": "pro"},
            }
        ]
        assert body["removes"] == [] and server.requests[-1]["headers"]["X-Cdpcrm-Signature"].startswith(
            "v1="
        )
    finally:
        server.close()


def test_a_private_destination_is_refused(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    destination = AudienceDestination.objects.create(
        name="Internal", kind="webhook", url="http://10.0.0.5/audience"
    )
    profile = _profile("ann@example.com")
    services.audience_members_change(
        destination_id=destination.pk, profile_ids=[profile.pk], add=True, now=profile.created_at
    )
    assert services.destination_sync(destination_id=destination.pk) == 0
    assert "private, loopback or link-local" in AudienceSync.objects.get().status_line


def test_admin_form_names_every_missing_setting_and_a_bad_mapping():
    from segments.audiences.admin import AudienceDestinationForm

    form = AudienceDestinationForm(
        data={
            "name": "Ads",
            "kind": "meta",
            "field_mapping": '["not", "a", "mapping"]',
            "batch_size": 500,
            "secret": "s",
        }
    )
    assert not form.is_valid()
    assert {"list_id", "api_key", "field_mapping"} <= set(form.errors)
