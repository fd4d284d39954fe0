"""RudderStack's browser SDK (v3, @rudderstack/analytics-js): the source config it loads from `configUrl`.

The SDK fetches `GET <configUrl>/sourceConfig/?p=..&v=..&writeKey=KEY` (with the key as HTTP Basic too)
and needs `source.id`, `source.config` and a `destinations` list. No destinations and no stats collection
means it loads no device-mode code and reports nothing to RudderStack: every event goes to `dataPlaneUrl`,
this server (`/v1/batch`, `/v1/<call>`, or `/beacon/v1/batch?writeKey=` with `useBeacon`).
"""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from .cache import source_by_write_key
from .checks import TrackingError, basic_auth_key
from .views import error_response


def source_config_payload(*, source, write_key: str) -> dict:
    return {
        "isHosted": False,
        "source": {
            "id": f"cdpcrm-source-{source.pk}",
            "name": source.name,
            "writeKey": write_key,
            "workspaceId": "cdpcrm",
            "enabled": source.enabled,
            "config": {"statsCollection": {"errors": {"enabled": False}, "metrics": {"enabled": False}}},
            "destinations": [],
            "updatedAt": source.updated_at.isoformat(),
        },
    }


@login_not_required
@require_GET
def source_config(request: HttpRequest) -> JsonResponse:
    try:
        header_key = basic_auth_key(request.META.get("HTTP_AUTHORIZATION", ""))
    except TrackingError as error:
        return error_response(error)
    write_key = request.GET.get("writeKey") or header_key
    source = source_by_write_key(write_key=write_key) if write_key else None
    if source is None:
        return error_response(TrackingError(404, "unknown write key"))
    response = JsonResponse(source_config_payload(source=source, write_key=write_key))
    response["Cache-Control"] = f"private, max-age={settings.ANALYTICS_SETTINGS_MAX_AGE}"
    return response
