"""The tracking hot path: the fast-path middleware, the per-process source cache, one drain task per source."""

import json

import pytest

from profiles.ingest import drain
from profiles.ingest.drain import batch_process
from profiles.models import Event, IngestBatch, Source
from profiles.tracking import cache as hotpath

from .factories import basic_auth, make_source, store_batch, track

pytestmark = pytest.mark.django_db


def _post(client, key: str, payload: dict, **headers):
    return client.post(
        "/v1/track",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(key),
        **headers,
    )


def test_tracking_answers_without_session_or_csrf_cookies_but_with_cors(client, settings):
    settings.CORS_ALLOW_ALL_ORIGINS = True
    _, key = make_source()
    response = _post(client, key, track(1), HTTP_ORIGIN="https://shop.example")
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert response["Access-Control-Allow-Origin"] in ("*", "https://shop.example")
    assert not response.cookies  # no session, no CSRF token: the page middleware never ran
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still did


def test_an_unknown_tracking_path_is_a_plain_404(client, db):
    assert client.post("/v1/nothing-here", data="{}", content_type="application/json").status_code == 404


def test_a_source_changed_elsewhere_is_re_read_once_the_generation_moves(
    client, django_capture_on_commit_callbacks
):
    source, key = make_source()
    assert _post(client, key, track(1)).status_code == 200  # now cached in this process
    # Another process disables it (no signal here, as if it ran on another machine)...
    Source.objects.filter(pk=source.pk).update(enabled=False)
    assert _post(client, key, track(2)).status_code == 200  # ...this process has not heard yet
    with django_capture_on_commit_callbacks(execute=True):
        hotpath.sources_changed()  # what that process's save sends after its commit
    response = _post(client, key, track(3))
    assert response.status_code == 403
    assert "disabled" in response.json()["error"]


def test_saving_a_source_invalidates_the_cache_at_once(client):
    source, key = make_source()
    assert _post(client, key, track(1)).status_code == 200
    source.enabled = False
    source.save()
    assert _post(client, key, track(2)).status_code == 403


@pytest.fixture
def queued(monkeypatch):
    """Record the processing tasks the accept path queues instead of sending them."""
    from profiles.ingest.tasks import batch_process_task

    sent: list[tuple] = []
    monkeypatch.setattr(batch_process_task, "apply_async", lambda args, **kwargs: sent.append(args))
    return sent


def test_one_drain_is_queued_per_source_until_it_starts(queued, django_capture_on_commit_callbacks):
    shop, _ = make_source()
    other, _ = make_source()
    with django_capture_on_commit_callbacks(execute=True):
        first = store_batch(shop, [track(1)])
        store_batch(shop, [track(2)])
        store_batch(shop, [track(3)])
        elsewhere = store_batch(other, [track(4)])
    assert queued == [(first.pk, shop.pk), (elsewhere.pk, other.pk)]

    drain.drain_flag_clear(shop.pk)  # what the task does before it claims the waiting batches
    with django_capture_on_commit_callbacks(execute=True):
        fourth = store_batch(shop, [track(5)])
    assert queued[-1] == (fourth.pk, shop.pk)


def test_a_task_whose_batch_is_done_still_drains_its_source(grouping, queued):
    source, _ = make_source()
    done, waiting = store_batch(source, [track(1)]), store_batch(source, [track(2)])
    batch_process(batch_id=done.pk)

    result = batch_process(batch_id=done.pk, more=10)

    assert result.batches == 1
    assert IngestBatch.objects.get(pk=waiting.pk).processed_at is not None
    assert Event.objects.count() == 2


def test_a_full_group_queues_the_next_drain(grouping, queued, django_capture_on_commit_callbacks):
    source, _ = make_source()
    batches = [store_batch(source, [track(n)]) for n in range(5)]
    drain.drain_flag_clear(source.pk)
    queued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert batch_process(batch_id=batches[0].pk, more=2).batches == 3

    assert queued == [(batches[0].pk, source.pk)]  # the next drain picks up the two left waiting
    assert batch_process(batch_id=batches[0].pk, more=2).batches == 2
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()


def test_enqueue_failure_clears_the_flag_so_the_next_request_retries(monkeypatch, db):
    from profiles.ingest.tasks import batch_process_task

    source, _ = make_source()

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(batch_process_task, "apply_async", broker_down)
    drain.drain_enqueue(1, source.pk)
    assert drain.drain_flag_set(source.pk, ttl=10)  # free again: the next request queues a drain
