"""The inbound webhook URL (/v1/webhooks/<source id>/<kind>) and the connector section of the source page."""

import logging
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from profiles.models import Source
from profiles.tracking import cache as tracking_cache
from profiles.tracking.checks import rate_limit_parse

from .base import SignatureInvalid, WebhookRequest
from .registry import connector_for
from .services import webhook_receive

logger = logging.getLogger(__name__)


def _over_rate(source_id: int) -> int:
    """Seconds to wait when this source's webhooks are over TRACKING_RATE_LIMIT in the current window, else 0
    (the tracking API's limit per write key, counted per connector source; one Redis round trip)."""
    limit, window = rate_limit_parse(settings.TRACKING_RATE_LIMIT)
    if limit <= 0:
        return 0
    now = time.time()
    bucket = int(now // window)
    count, _ = tracking_cache.counters(rate_key=f"cdp:rate:webhook:{source_id}:{bucket}", window=window)
    return max(1, int((bucket + 1) * window - now + 0.999)) if count > limit else 0


def _error(status: int, message: str, **extra) -> JsonResponse:
    response = JsonResponse({"success": False, "error": message}, status=status)
    for name, value in extra.items():
        response[name] = value
    return response


@csrf_exempt
@login_not_required
@require_http_methods(["GET", "HEAD", "POST"])
def webhook(request: HttpRequest, source_id: int, kind: str) -> JsonResponse:
    """200 once the delivery is stored (accepted or rejected with its reason); 401 for a bad signature."""
    try:
        source = Source.objects.filter(pk=source_id).first()
    except DatabaseError:
        logger.warning("webhook refused: the database is unavailable", exc_info=True)
        return _error(503, "the event store is unavailable; retry later", **{"Retry-After": "5"})
    connector = connector_for(kind)
    if source is None or connector is None or source.kind != kind:
        return _error(404, "no such connector")
    if request.method in ("GET", "HEAD"):
        # Mailchimp checks a webhook URL with a GET before it saves it.
        return JsonResponse({"success": True, "connector": connector.label})
    if not source.enabled:
        return _error(403, f"source {source.name!r} is disabled")
    if wait := _over_rate(source.pk):
        message = f"rate limit of {settings.TRACKING_RATE_LIMIT} deliveries per source exceeded"
        return _error(429, message, **{"Retry-After": str(wait)})
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > connector.max_bytes or len(request.body) > connector.max_bytes:
        return _error(
            413,
            f"the body is larger than {connector.max_bytes // 1024:,} KB, the most {connector.label} deliveries hold",
        )
    webhook_request = WebhookRequest(
        body=request.body,
        headers={name.lower(): value for name, value in request.headers.items()},
        query={key: request.GET.get(key, "") for key in request.GET},
        content_type=request.content_type or "",
    )
    try:
        received = webhook_receive(
            source=source, request=webhook_request, client_ip=request.META.get("REMOTE_ADDR") or None
        )
    except SignatureInvalid as exc:
        return _error(401, str(exc))
    except DatabaseError:
        logger.warning("webhook refused: the database is unavailable", exc_info=True)
        return _error(503, "the event store is unavailable; retry later", **{"Retry-After": "5"})
    delivery = received.delivery
    body = {"success": True, "status": delivery.status, "events": delivery.event_count}
    if delivery.reason:
        body["reason"] = delivery.reason
    return JsonResponse(body)
