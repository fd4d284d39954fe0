"""The rate counter and the per-process source cache of the tracking endpoints (hundreds of requests a second per process).

- One Redis round trip per request: the per-write-key rate counter and the sources "generation" are read
  together in a pipeline (Django's cache API would take three round trips and build a client per call).
- Sources are cached per process by write-key hash and trusted only while the generation is unchanged;
  every save or delete of a Source bumps it after the commit, so a rotated key or a disabled source is
  refused by every web process on its next request.

Without CACHE_URL (the embedded single-process mode and the SQLite tests) Django's local-memory cache
stands in for Redis; it is not shared between processes, so a cached source is then trusted for one second
only (LOCAL_SOURCE_TTL): a disabled or rotated key is refused by every process a second later at most.

If the cache Redis is unreachable, tracking goes on (the inbox is in the database): no rate limit, sources
read from the database (trusted for a second), one warning in the log (profiles/cache_redis.py).
"""

import hashlib
import logging
import time
from threading import Lock

from django.core.cache import cache
from django.db import transaction

from .. import cache_redis
from ..models import Source

logger = logging.getLogger(__name__)

GENERATION_KEY = "cdp:sources:generation"
SOURCE_CACHE_LIMIT = 1000
LOCAL_SOURCE_TTL = 1.0  # seconds a source is trusted without a shared generation to check
SHARED_SOURCE_TTL = 60.0  # an upper bound even with one (a bump lost while Redis was down)

_sources: dict[str, tuple[str | None, float, object]] = {}
_sources_lock = Lock()


def write_key_digest(write_key: str) -> str:
    return hashlib.sha256(write_key.encode()).hexdigest()


def source_by_key_hash(*, digest: str) -> Source | None:
    return Source.objects.filter(write_key_hash=digest).first()


def source_by_write_key(*, write_key: str) -> Source | None:
    return source_by_key_hash(digest=write_key_digest(write_key))


def counters(*, rate_key: str | None, window: int) -> tuple[int, str | None]:
    """Count this request in its rate window (when limited) and read the sources generation.

    The generation is None when no shared cache can vouch for the process's cached sources (no CACHE_URL,
    or Redis down); the count is 0 when Redis is down (no rate limit then).
    """
    try:
        client = cache_redis.client()
    except cache_redis.CacheDown:
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
    except cache_redis.RedisError as error:
        cache_redis.failed(error)
        return 0, None
    cache_redis.answered()
    generation = results[-1].decode() if results[-1] is not None else "0"
    return (int(results[1]) if rate_key else 0), generation


def sources_changed() -> None:
    """Invalidate this process's source cache now and every process's once the transaction commits."""
    with _sources_lock:
        _sources.clear()

    def bump() -> None:
        try:
            client = cache_redis.client()
            if client is None:
                if not cache.add(GENERATION_KEY, 1, timeout=None):
                    cache.incr(GENERATION_KEY)
            else:
                client.incr(GENERATION_KEY)
        except (cache_redis.CacheDown, cache_redis.RedisError) as error:
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
