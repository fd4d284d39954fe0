"""Under load a worker processes the waiting batches of a source together; computed traits fold incrementally."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles.ingest import drain
from profiles.ingest.drain import batch_process
from profiles.models import ComputedTrait, Event, IngestBatch, IngestError, Profile
from profiles.unify.computed import computed_values

from .factories import make_source, store_batch, track

pytestmark = pytest.mark.django_db


def test_waiting_batches_of_one_source_are_processed_in_one_go(grouping):
    shop, _ = make_source(name="Shop")
    other, _ = make_source(name="Other")
    first = store_batch(shop, [track(1), track(2)])
    second = store_batch(shop, [track(2), track(3), {"type": "track", "messageId": "no-ids", "event": "X"}])
    third = store_batch(shop, [track(4)])
    elsewhere = store_batch(other, [track(1)])

    result = batch_process(batch_id=first.pk, more=10)

    assert (result.batches, result.accepted, result.duplicates, result.rejected) == (3, 4, 1, 1)
    batches = {b.pk: b for b in IngestBatch.objects.all()}
    assert [(batches[b.pk].accepted_count, batches[b.pk].rejected_count) for b in (first, second, third)] == [
        (2, 0),
        (1, 1),
        (1, 0),
    ]
    assert all(batches[b.pk].processed_at for b in (first, second, third))
    assert batches[elsewhere.pk].processed_at is None  # another source's batch waits for its own task
    stored = dict(Event.objects.filter(source=shop).values_list("message_id", "batch_id"))
    assert stored == {"msg-1": first.pk, "msg-2": first.pk, "msg-3": second.pk, "msg-4": third.pk}
    assert IngestError.objects.get().batch_id == second.pk
    shop.refresh_from_db()
    assert (shop.events_accepted, shop.events_rejected) == (4, 1)
    # The tasks of the batches processed along with the first find nothing left to do.
    assert batch_process(batch_id=second.pk, more=10) is None


def test_a_group_takes_a_fixed_number_of_queries_whatever_the_number_of_batches(grouping):
    source, _ = make_source()

    def queries(batches: int, offset: int) -> int:
        stored = [store_batch(source, [track(offset + n, userId=f"u-{offset + n}")]) for n in range(batches)]
        with CaptureQueriesContext(connection) as captured:
            assert batch_process(batch_id=stored[0].pk, more=50).batches == batches
        return len(captured)

    assert queries(2, 100) == queries(12, 200)


def test_batches_over_the_event_budget_wait_for_the_next_drain(
    grouping, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.INGEST_GROUP_EVENTS = 3
    source, _ = make_source()
    first, second, third = (store_batch(source, [track(n * 10), track(n * 10 + 1)]) for n in range(3))
    requeued: list[tuple] = []
    monkeypatch.setattr(drain, "drain_enqueue", lambda *args, **kwargs: requeued.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        result = batch_process(batch_id=first.pk, more=10)

    assert result.batches == 1  # 2 + 2 events would pass the budget of 3
    assert requeued == [(first.pk, source.pk)]  # one drain for the source picks up the rest
    assert IngestBatch.objects.filter(processed_at__isnull=True).count() == 2
    assert batch_process(batch_id=first.pk, more=10).batches == 1
    assert batch_process(batch_id=first.pk, more=10).batches == 1
    assert batch_process(batch_id=first.pk, more=10) is None


def _order(n: int, revenue, **extra) -> dict:
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": "ann",
        "messageId": f"order-{n}",
        "properties": {"revenue": revenue, "category": f"cat-{n}"},
        **extra,
    }


def test_folded_computed_traits_match_a_full_recompute():
    make = ComputedTrait.objects.create
    make(key="orders", label="Orders", aggregation="count", event_name="Order Completed")
    make(key="revenue", label="Revenue", aggregation="sum", event_name="Order Completed", property="revenue")
    make(key="biggest", label="Biggest", aggregation="max", event_name="Order Completed", property="revenue")
    make(
        key="smallest", label="Smallest", aggregation="min", event_name="Order Completed", property="revenue"
    )
    make(
        key="orders_30d",
        label="Orders 30d",
        aggregation="count",
        event_name="Order Completed",
        window_days=30,
    )
    make(
        key="last_category",
        label="Last cat",
        aggregation="last",
        event_name="Order Completed",
        property="category",
    )
    web, _ = make_source(name="Web")
    app, _ = make_source(name="App")

    batch_process(batch_id=store_batch(web, [_order(1, 40), _order(2, "12.5"), track(9, userId="ann")]).pk)
    batch_process(batch_id=store_batch(app, [_order(3, "n/a"), _order(4, 7), _order(5, None)]).pk)
    batch_process(
        batch_id=store_batch(web, [_order(1, 40), _order(6, True)]).pk
    )  # a re-sent order counts once

    profile = Profile.objects.get()
    folded = profile.computed_traits
    assert folded == computed_values(profile_ids=[profile.pk])[profile.pk]
    assert (folded["orders"], folded["revenue"], folded["biggest"], folded["smallest"]) == (6, 59.5, 40, 7)
    assert (folded["total_events"], folded["channels_seen"]) == (7, ["App", "Web"])
    assert folded["last_category"] == "cat-6"


def test_new_customers_created_in_one_group_keep_their_own_traits(grouping):
    source, _ = make_source()
    identifies = [
        {"type": "identify", "userId": f"u-{n}", "messageId": f"id-{n}", "traits": {"name": name}}
        for n, name in enumerate(["Ann", "Bob", "Cy"])
    ]
    first = store_batch(source, identifies[:2])
    store_batch(source, identifies[2:])

    batch_process(batch_id=first.pk, more=10)

    names = {p.identities.get().value: p.traits for p in Profile.objects.prefetch_related("identities")}
    assert names == {"u-0": {"name": "Ann"}, "u-1": {"name": "Bob"}, "u-2": {"name": "Cy"}}
    assert all(p.computed_traits["total_events"] == 1 for p in Profile.objects.all())
