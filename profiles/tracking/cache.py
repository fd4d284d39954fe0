"""Shortcuts for the tracking endpoints, which answer hundreds of requests a second per web process.

- One Redis round trip per request: the per-write-key rate counter and the sources "generation" are read
  together in a pipeline (Django's cache API would take three round trips and build a client per call).
- Sources are cached per process by write-key hash and trusted only while the generation is unchanged;
  every save or delete of a Source bumps it after the commit, so a rotated key or a disabled source is
  refused by every web process on its next request.
- A "drain queued" flag per source: the view enqueues a processing task only when none is waiting, and
  the task clears the flag before it claims the source's waiting batches (see drain.batch_process).

Without CACHE_URL (the embedded single-process mode and the SQLite tests) Django's local-memory cache
stands in for Redis; it is not shared between processes, so a cached source is then trusted for one second
only (LOCAL_SOURCE_TTL): a disabled or rotated key is refused by every process a second later at most.

If the cache Redis is unreachable, tracking goes on (the inbox is in the database): no rate limit, sources
read from the database (trusted for a second), a drain queued per request, one warning in the log; Redis is
tried again every few seconds. Connecting waits at most half a second.
"""

import logging
import time
from threading import Lock

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

GENERATION_KEY = "cdp:sources:generation"
SOURCE_CACHE_LIMIT = 1000
LOCAL_SOURCE_TTL = 1.0  # seconds a source is trusted without a shared generation to check
SHARED_SOURCE_TTL = 60.0  # an upper bound even with one (a bump lost while Redis was down)
REDIS_TIMEOUT = 0.5
REDIS_RETRY_AFTER = 5.0  # seconds without trying Redis after it failed

_client: tuple[str, redis.Redis] | None = None
_sources: dict[str, tuple[str | None, float, object]] = {}
_sources_lock = Lock()
_down_until = 0.0
_down_since: float | None = None


class CacheDown(Exception):
    """The cache Redis is configured but not answering."""


def _redis() -> redis.Redis | None:
    """The cache Redis client, None without CACHE_URL; raises CacheDown while it is known to be down."""
    global _client
    url = settings.CACHE_URL
    if not url:
        return None
    if time.monotonic() < _down_until:
        raise CacheDown
    if _client is None or _client[0] != url:
        client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
        _client = (url, client)
    return _client[1]


def _failed(error: Exception) -> None:
    global _down_until, _down_since
    _down_until = time.monotonic() + REDIS_RETRY_AFTER
    if _down_since is None:
        _down_since = time.monotonic()
        logger.warning(
            "the cache Redis is unreachable (%s): tracking goes on without rate limits, reading sources "
            "from the database",
            error,
        )


def _answered() -> None:
    global _down_since
    if _down_since is not None:
        logger.warning("the cache Redis answers again after %.0f s", time.monotonic() - _down_since)
        _down_since = None


def counters(*, rate_key: str | None, window: int) -> tuple[int, str | None]:
    """Count this request in its rate window (when limited) and read the sources generation.

    The generation is None when no shared cache can vouch for the process's cached sources (no CACHE_URL,
    or Redis down); the count is 0 when Redis is down (no rate limit then).
    """
    try:
        client = _redis()
    except CacheDown:
        return 0, None
    if client is None:
        count = 0
        if rate_key:
            count = 1 if cache.add(rate_key, 1, timeout=window + 1) else cache.incr(rate_key)
        return count, None
    pipe = client.pipeline(transaction=False)
    if rate_key:
        pipe.set(rate_key, 0, ex=window + 1, nx=True)
        pipe.incr(rate_key)
    pipe.get(GENERATION_KEY)
    try:
        results = pipe.execute()
    except redis.RedisError as error:
        _failed(error)
        return 0, None
    _answered()
    generation = results[-1].decode() if results[-1] is not None else "0"
    return (int(results[1]) if rate_key else 0), generation


def sources_changed() -> None:
    """Invalidate this process's source cache now and every process's once the transaction commits."""
    with _sources_lock:
        _sources.clear()

    def bump() -> None:
        try:
            client = _redis()
            if client is None:
                if not cache.add(GENERATION_KEY, 1, timeout=None):
                    cache.incr(GENERATION_KEY)
            else:
                client.incr(GENERATION_KEY)
        except (CacheDown, redis.RedisError) as error:
            # Other processes notice within SHARED_SOURCE_TTL (and within a second while Redis is down).
            logger.warning("could not announce a source change to other processes: %s", error or "cache down")
        with _sources_lock:
            _sources.clear()

    transaction.on_commit(bump)


def source_cached(digest: str, generation: str | None, load):
    """The source for a write-key hash from this process's cache, or `load()` when stale or unknown.

    An entry is trusted while the shared generation is unchanged (at most SHARED_SOURCE_TTL), or for
    LOCAL_SOURCE_TTL when there is no shared generation (`generation` None)."""
    now = time.monotonic()
    entry = _sources.get(digest)
    if entry is not None and entry[0] == generation:
        if now - entry[1] < (SHARED_SOURCE_TTL if generation is not None else LOCAL_SOURCE_TTL):
            return entry[2]
    source = load()
    with _sources_lock:
        if len(_sources) >= SOURCE_CACHE_LIMIT:  # random keys must not grow it without bound
            _sources.clear()
        _sources[digest] = (generation, now, source)
    return source


def _drain_key(source_id: int) -> str:
    return f"cdp:ingest:drain-queued:{source_id}"


def drain_flag_set(source_id: int, *, ttl: int) -> bool:
    """Mark a drain of this source's inbox as queued; False when one already is (True when Redis is down:
    one drain per request then, which a drain finding its batches done costs little)."""
    try:
        client = _redis()
        if client is None:
            return cache.add(_drain_key(source_id), 1, timeout=ttl)
        return bool(client.set(_drain_key(source_id), 1, ex=ttl, nx=True))
    except CacheDown:
        return True
    except redis.RedisError as error:
        _failed(error)
        return True


def drain_flag_clear(source_id: int) -> None:
    try:
        client = _redis()
        if client is None:
            cache.delete(_drain_key(source_id))
        else:
            client.delete(_drain_key(source_id))
    except CacheDown:
        pass
    except redis.RedisError as error:
        _failed(error)
