"""Activation: signed webhooks with retries and replay, CRM tasks for the owner, tags, the delivery log."""

import datetime
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine

from contacts.models import Task
from segments import activation, services, tasks
from segments.models import Delivery, Destination

from . import factories as f

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.UTC)


class Receiver:
    """A real HTTP endpoint on localhost that answers with queued status codes and records requests."""

    def __init__(self):
        self.requests: list[dict] = []
        self.codes: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                code = receiver.codes.pop(0) if receiver.codes else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok" if code < 300 else b"receiver is down")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _allow_local_receivers(settings):
    """The receivers here listen on 127.0.0.1, which the SSRF guard refuses unless an admin allows it."""
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def _enter(seg, prof, django_capture_on_commit_callbacks, now=T0):
    with django_capture_on_commit_callbacks(execute=True):
        return services.segment_profiles_recheck(segment_id=seg.pk, profile_ids=[prof.pk], now=now)


def test_webhook_is_signed_and_carries_identifiers_and_chosen_traits(
    receiver, django_capture_on_commit_callbacks
):
    prof = f.profile(traits={"tier": "gold", "name": "Ann", "secret_note": "x"}, email="ann@example.com")
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"}, name="Gold")
    dest = Destination.objects.create(
        segment=seg, name="Shop", kind="webhook", url=receiver.url, traits=["name"]
    )
    _enter(seg, prof, django_capture_on_commit_callbacks)

    (request,) = receiver.requests
    headers, body = request["headers"], request["body"]
    stamp = headers["X-Cdpcrm-Timestamp"]
    expected = hmac.new(dest.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Cdpcrm-Signature"] == f"v1={expected}"
    payload = json.loads(body)
    assert payload["type"] == "segment.entered"
    assert payload["segment"] == {"id": seg.pk, "name": "Gold"}
    assert payload["profile_id"] == prof.pk
    assert payload["identifiers"]["email"] == ["ann@example.com"]
    assert payload["traits"] == {"name": "Ann"}
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("delivered", 200, 1)


def test_exit_fires_only_destinations_listening_to_exits(receiver, django_capture_on_commit_callbacks):
    prof = f.profile(traits={"tier": "gold"})
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    Destination.objects.create(segment=seg, name="Enter", kind="webhook", url=receiver.url)
    Destination.objects.create(
        segment=seg, name="Exit", kind="webhook", url=receiver.url, on_enter=False, on_exit=True
    )
    _enter(seg, prof, django_capture_on_commit_callbacks)
    prof.traits = {}
    prof.save()
    _enter(seg, prof, django_capture_on_commit_callbacks, now=T0 + datetime.timedelta(minutes=1))
    assert [json.loads(r["body"])["type"] for r in receiver.requests] == ["segment.entered", "segment.exited"]


def test_each_move_carries_a_sequence_number_so_receivers_can_drop_stale_retries(
    receiver, django_capture_on_commit_callbacks
):
    prof = f.profile(traits={"tier": "gold"})
    other = f.profile(traits={"tier": "gold"})
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    Destination.objects.create(segment=seg, name="Both", kind="webhook", url=receiver.url, on_exit=True)
    for minute, tier in enumerate(("gold", "", "gold", "")):
        prof.traits = {"tier": tier}
        prof.save()
        _enter(seg, prof, django_capture_on_commit_callbacks, now=T0 + datetime.timedelta(minutes=minute))
    _enter(seg, other, django_capture_on_commit_callbacks, now=T0 + datetime.timedelta(minutes=9))
    sent = [(json.loads(r["body"]), r["headers"]["X-Cdpcrm-Sequence"]) for r in receiver.requests]
    assert [(body["profile_id"], body["type"], body["sequence"], header) for body, header in sent] == [
        (prof.pk, "segment.entered", 1, "1"),
        (prof.pk, "segment.exited", 2, "2"),
        (prof.pk, "segment.entered", 3, "3"),
        (prof.pk, "segment.exited", 4, "4"),
        (other.pk, "segment.entered", 1, "1"),
    ]
    # A replay is the same move: it keeps its number, so a receiver that saw 4 ignores a replayed 2.
    second = Delivery.objects.get(profile=prof, sequence=2)
    assert activation.delivery_replay(delivery=second, user=None).sequence == 2


def test_receiver_down_is_retried_with_backoff_and_nothing_is_lost(
    receiver, django_capture_on_commit_callbacks
):
    prof = f.profile(traits={"tier": "gold"})
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    Destination.objects.create(segment=seg, name="Hook", kind="webhook", url=receiver.url)
    receiver.codes = [503, 500]
    with time_machine.travel(T0, tick=False):
        _enter(seg, prof, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("retrying", 1, 503)
    assert delivery.next_attempt_at == T0 + datetime.timedelta(minutes=1)

    with time_machine.travel(T0 + datetime.timedelta(seconds=30), tick=False):
        tasks.destination_deliveries_due_task()  # not yet due
    assert len(receiver.requests) == 1
    with time_machine.travel(T0 + datetime.timedelta(minutes=1), tick=False):
        tasks.destination_deliveries_due_task()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("retrying", 2)
    assert delivery.next_attempt_at == T0 + datetime.timedelta(minutes=3)
    with time_machine.travel(T0 + datetime.timedelta(minutes=3), tick=False):
        tasks.destination_deliveries_due_task()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 3, 200)
    assert len(receiver.requests) == 3


def test_backoff_gives_up_after_about_a_day():
    waits = [activation.backoff(n) for n in range(1, activation.MAX_ATTEMPTS)]
    assert waits[:3] == [datetime.timedelta(minutes=m) for m in (1, 2, 4)]
    assert datetime.timedelta(hours=20) <= sum(waits, datetime.timedelta()) <= datetime.timedelta(hours=26)


def test_delivery_fails_for_good_after_the_last_attempt(django_capture_on_commit_callbacks):
    prof = f.profile(traits={"tier": "gold"})
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    Destination.objects.create(segment=seg, name="Dead", kind="webhook", url="http://127.0.0.1:9/nothing")
    _enter(seg, prof, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(attempts=activation.MAX_ATTEMPTS - 1, next_attempt_at=T0)
    activation.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        "failed",
        activation.MAX_ATTEMPTS,
        None,
    )
    assert delivery.last_error.startswith("The connection failed")


def test_manual_replay_sends_again_as_a_new_log_entry(
    receiver, django_capture_on_commit_callbacks, marketing_user
):
    prof = f.profile(traits={"tier": "gold"})
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    Destination.objects.create(segment=seg, name="Hook", kind="webhook", url=receiver.url)
    _enter(seg, prof, django_capture_on_commit_callbacks)
    original = Delivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        replay = activation.delivery_replay(delivery=original, user=marketing_user)
    replay.refresh_from_db()
    assert replay.status == "delivered"
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]


def test_delivery_attempted_twice_sends_once(receiver, django_capture_on_commit_callbacks):
    prof = f.profile(traits={"tier": "gold"})
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    Destination.objects.create(segment=seg, name="Hook", kind="webhook", url=receiver.url)
    _enter(seg, prof, django_capture_on_commit_callbacks)
    tasks.destination_deliver_task(Delivery.objects.get().pk)
    assert len(receiver.requests) == 1


def test_crm_task_is_created_for_the_contact_owner(django_user_model, django_capture_on_commit_callbacks):
    owner = django_user_model.objects.create_user("owner.two", password="x")
    prof = f.profile(email="gold@example.com")
    contact = f.contact(email="gold@example.com", owner=owner, tier="gold")
    seg = f.segment({"crm": "loyalty.tier", "op": "eq", "value": "gold"}, name="Gold cart")
    Destination.objects.create(
        segment=seg,
        name="Call",
        kind="crm_task",
        task_title="Gold customer abandoned a cart: call",
        task_due_hours=4,
    )
    _enter(seg, prof, django_capture_on_commit_callbacks)
    task = Task.objects.get()
    assert (task.title, task.assignee, task.contact) == (
        "Gold customer abandoned a cart: call",
        owner,
        contact,
    )
    assert "Gold cart" in task.notes
    assert Delivery.objects.get().status == "delivered"


def test_crm_activation_without_a_linked_contact_is_skipped_with_a_reason(django_capture_on_commit_callbacks):
    prof = f.profile(traits={"tier": "gold"})
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    Destination.objects.create(segment=seg, name="Call", kind="crm_task", task_title="Call")
    _enter(seg, prof, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery.status == "skipped"
    assert "not linked" in delivery.last_error
    assert not Task.objects.exists()


def test_tag_is_added_on_enter_and_removed_on_exit(django_capture_on_commit_callbacks):
    prof = f.profile(traits={"tier": "gold"}, email="tagme@example.com")
    contact = f.contact(email="tagme@example.com", tags=["Newsletter"])
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    Destination.objects.create(segment=seg, name="Tag", kind="tag", tag_name="Gold audience")
    Destination.objects.create(
        segment=seg,
        name="Untag",
        kind="tag",
        tag_name="Gold audience",
        tag_action="remove",
        on_enter=False,
        on_exit=True,
    )
    _enter(seg, prof, django_capture_on_commit_callbacks)
    assert sorted(contact.tags.values_list("name", flat=True)) == ["Gold audience", "Newsletter"]
    prof.traits = {}
    prof.save(update_fields=["traits"])  # the in-memory profile predates its contact link
    _enter(seg, prof, django_capture_on_commit_callbacks, now=T0 + datetime.timedelta(minutes=1))
    assert list(contact.tags.values_list("name", flat=True)) == ["Newsletter"]


def test_webhook_to_a_private_address_is_refused_and_the_reason_kept(
    settings, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    prof = f.profile(traits={"tier": "gold"})
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    Destination.objects.create(segment=seg, name="Internal", kind="webhook", url="http://127.0.0.1:9/admin")
    _enter(seg, prof, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery.status == "retrying" and delivery.response_code is None
    assert "private, loopback or link-local" in delivery.last_error


def test_a_failing_receiver_body_is_not_stored(receiver, django_capture_on_commit_callbacks):
    receiver.codes = [500]
    prof = f.profile(traits={"tier": "gold"})
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    Destination.objects.create(segment=seg, name="Down", kind="webhook", url=receiver.url)
    _enter(seg, prof, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery.last_error == "HTTP 500 Internal Server Error"
    assert "receiver is down" not in delivery.last_error
