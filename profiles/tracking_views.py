"""The Segment-compatible HTTP Tracking API: /v1/track, identify, page, screen, group, alias, batch."""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .selectors import source_by_write_key
from .services import batch_accept, request_info_now
from .tracking import TrackingError, request_parse

logger = logging.getLogger(__name__)

SUCCESS = {"success": True}


def _error_response(error: TrackingError) -> JsonResponse:
    response = JsonResponse(error.payload(), status=error.status)
    if error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


def tracking_view(kind: str):
    @csrf_exempt
    @login_not_required
    @require_POST
    def view(request: HttpRequest) -> JsonResponse:
        try:
            parsed = request_parse(
                kind=kind,
                raw=request.body,
                authorization=request.META.get("HTTP_AUTHORIZATION", ""),
                content_encoding=request.META.get("HTTP_CONTENT_ENCODING", ""),
            )
        except TrackingError as error:
            return _error_response(error)
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
