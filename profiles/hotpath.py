"""Shortcuts for the tracking endpoints, which answer hundreds of requests a second per web process.

- One Redis round trip per request: the per-write-key rate counter and the sources "generation" are read
  together in a pipeline (Django's cache API would take three round trips and build a client per call).
- Sources are cached per process by write-key hash and trusted only while the generation is unchanged;
  every save or delete of a Source bumps it after the commit, so a rotated key or a disabled source is
  refused by every web process on its next request.
- A "drain queued" flag per source: the view enqueues a processing task only when none is waiting, and
  the task clears the flag before it claims the source's waiting batches (see drain.batch_process).

Without CACHE_URL (the embedded single-process mode and the SQLite tests) Django's local-memory cache
stands in for Redis.
"""

from threading import Lock

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

GENERATION_KEY = "cdp:sources:generation"
SOURCE_CACHE_LIMIT = 1000

_client: tuple[str, redis.Redis] | None = None
_sources: dict[str, tuple[str, object]] = {}
_sources_lock = Lock()


def _redis() -> redis.Redis | None:
    global _client
    url = settings.CACHE_URL
    if not url:
        return None
    if _client is None or _client[0] != url:
        _client = (url, redis.Redis.from_url(url))
    return _client[1]


def counters(*, rate_key: str | None, window: int) -> tuple[int, str]:
    """Count this request in its rate window (when limited) and read the sources generation."""
    client = _redis()
    if client is None:
        count = 0
        if rate_key:
            count = 1 if cache.add(rate_key, 1, timeout=window + 1) else cache.incr(rate_key)
        return count, str(cache.get(GENERATION_KEY, 0))
    pipe = client.pipeline(transaction=False)
    if rate_key:
        pipe.set(rate_key, 0, ex=window + 1, nx=True)
        pipe.incr(rate_key)
    pipe.get(GENERATION_KEY)
    results = pipe.execute()
    generation = results[-1].decode() if results[-1] is not None else "0"
    return (int(results[1]) if rate_key else 0), generation


def sources_changed() -> None:
    """Invalidate this process's source cache now and every process's once the transaction commits."""
    with _sources_lock:
        _sources.clear()

    def bump() -> None:
        client = _redis()
        if client is None:
            if not cache.add(GENERATION_KEY, 1, timeout=None):
                cache.incr(GENERATION_KEY)
        else:
            client.incr(GENERATION_KEY)
        with _sources_lock:
            _sources.clear()

    transaction.on_commit(bump)


def source_cached(digest: str, generation: str, load):
    """The source for a write-key hash from this process's cache, or `load()` when stale or unknown."""
    entry = _sources.get(digest)
    if entry is not None and entry[0] == generation:
        return entry[1]
    source = load()
    with _sources_lock:
        if len(_sources) >= SOURCE_CACHE_LIMIT:  # random keys must not grow it without bound
            _sources.clear()
        _sources[digest] = (generation, source)
    return source


def _drain_key(source_id: int) -> str:
    return f"cdp:ingest:drain-queued:{source_id}"


def drain_flag_set(source_id: int, *, ttl: int) -> bool:
    """Mark a drain of this source's inbox as queued; False when one already is."""
    client = _redis()
    if client is None:
        return cache.add(_drain_key(source_id), 1, timeout=ttl)
    return bool(client.set(_drain_key(source_id), 1, ex=ttl, nx=True))


def drain_flag_clear(source_id: int) -> None:
    client = _redis()
    if client is None:
        cache.delete(_drain_key(source_id))
    else:
        client.delete(_drain_key(source_id))
