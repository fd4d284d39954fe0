"""The Segment-compatible HTTP Tracking API: /v1/track, identify, page, screen, group, alias, batch."""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ..ingest.inbox import batch_accept, request_info_now
from .cache import source_by_write_key
from .checks import TrackingError, request_parse

logger = logging.getLogger(__name__)

SUCCESS = {"success": True}
UNAVAILABLE_RETRY_AFTER = 5  # seconds; every Segment and RudderStack library retries a 503


def error_response(error: TrackingError) -> JsonResponse:
    response = JsonResponse(error.payload(), status=error.status)
    if error.retry_after:
        # Retry-After for HTTP clients, X-RateLimit-Reset (seconds to wait) for Segment's libraries.
        response["Retry-After"] = str(error.retry_after)
        if error.status == 429:
            response["X-RateLimit-Reset"] = str(error.retry_after)
    return response


def tracking_guard(view):
    """The documented JSON error instead of Django's HTML 500: 503 with Retry-After when the database
    cannot be reached (the client retries; nothing was stored), 500 for anything else."""

    def guarded(request: HttpRequest, *args, **kwargs) -> JsonResponse:
        try:
            return view(request, *args, **kwargs)
        except TrackingError as error:
            return error_response(error)
        except DatabaseError:
            logger.warning("tracking request refused: the database is unavailable", exc_info=True)
            message = "the event store is unavailable; retry later"
            return error_response(TrackingError(503, message, retry_after=UNAVAILABLE_RETRY_AFTER))
        except Exception:
            logger.exception("tracking request failed")
            response = JsonResponse(
                {
                    "success": False,
                    "error": "internal error",
                    "code": "server_error",
                    "message": "internal error",
                },
                status=500,
            )
            return response

    guarded.__name__ = view.__name__
    return guarded


def tracking_view(kind: str, *, key_in_query: bool = False):
    """A POST endpoint for one call type; `key_in_query` also reads `?writeKey=` (beacons send no header)."""

    @csrf_exempt
    @login_not_required
    @require_POST
    @tracking_guard
    def view(request: HttpRequest) -> JsonResponse:
        parsed = request_parse(
            kind=kind,
            raw=request.body,
            authorization=request.META.get("HTTP_AUTHORIZATION", ""),
            content_encoding=request.META.get("HTTP_CONTENT_ENCODING", ""),
            query_key=request.GET.get("writeKey") if key_in_query else None,
        )
        info = request_info_now(
            client_ip=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            browser_source=parsed.source.is_browser,
        )
        batch_accept(
            source=parsed.source, kind=kind, body=parsed.text, event_count=parsed.event_count, info=info
        )
        return JsonResponse(SUCCESS)

    view.__name__ = f"tracking_{kind}"
    return view


def analytics_settings_payload(*, write_key: str, request: HttpRequest) -> dict:
    """The settings document analytics.js fetches: send everything to our /v1/ API."""
    host = request.get_host()
    return {
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": f"{host}/v1",
                "protocol": request.scheme,
                "unbundledIntegrations": [],
                "addBundledMetadata": True,
                "maybeBundledConfigIds": {},
            }
        },
        "plan": {
            "track": {"__default": {"enabled": True, "integrations": {}}},
            "identify": {"__default": {"enabled": True}},
            "group": {"__default": {"enabled": True}},
        },
        "edgeFunction": {},
        "analyticsNextEnabled": True,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }


@login_not_required
@require_GET
def analytics_settings(request: HttpRequest, write_key: str) -> JsonResponse:
    source = source_by_write_key(write_key=write_key)
    if source is None or not source.enabled:
        raise Http404("unknown write key")
    response = JsonResponse(analytics_settings_payload(write_key=write_key, request=request))
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = f"public, max-age={settings.ANALYTICS_SETTINGS_MAX_AGE}"
    return response
