"""The cache Redis as the tracking edge and the drains use it: one client per process, short timeouts, a pause after a failure.

Connecting and answering wait at most REDIS_TIMEOUT; after a failure Redis is not tried for REDIS_RETRY_AFTER
seconds and callers carry on without it (tracking/cache.py and ingest/drain.py say how). One warning is
logged when it goes away and one when it answers again.
"""

import logging
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

REDIS_TIMEOUT = 0.5
REDIS_RETRY_AFTER = 5.0  # seconds without trying Redis after it failed

_client: tuple[str, redis.Redis] | None = None
_down_until = 0.0
_down_since: float | None = None

RedisError = redis.RedisError


class CacheDown(Exception):
    """The cache Redis is configured but not answering."""


def client() -> redis.Redis | None:
    """The cache Redis client, None without CACHE_URL; raises CacheDown while it is known to be down."""
    global _client
    url = settings.CACHE_URL
    if not url:
        return None
    if time.monotonic() < _down_until:
        raise CacheDown
    if _client is None or _client[0] != url:
        _client = (
            url,
            redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT),
        )
    return _client[1]


def failed(error: Exception) -> None:
    """Record a failed call: Redis is left alone for a few seconds; the first failure is logged."""
    global _down_until, _down_since
    _down_until = time.monotonic() + REDIS_RETRY_AFTER
    if _down_since is None:
        _down_since = time.monotonic()
        logger.warning(
            "the cache Redis is unreachable (%s): tracking goes on without rate limits, reading sources "
            "from the database",
            error,
        )


def answered() -> None:
    global _down_since
    if _down_since is not None:
        logger.warning("the cache Redis answers again after %.0f s", time.monotonic() - _down_since)
        _down_since = None


def reset() -> None:
    """Forget the client and any failure (tests; a forked process)."""
    global _client, _down_until, _down_since
    _client, _down_until, _down_since = None, 0.0, None
