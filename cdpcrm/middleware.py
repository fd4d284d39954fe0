"""Login required everywhere, except views marked `login_not_required` and the machine APIs.

`/api/` authenticates with tokens through DRF (401/403 there), `/v1/` with source write keys.
"""

from django.contrib.admin.options import TO_FIELD_VAR
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.db import connection
from django.urls import Resolver404, get_resolver

from common.params import NUL, querydict_without_nul

MACHINE_PREFIXES = ("/api/", "/v1/", "/beacon/", "/sourceConfig/")


class LoginRequiredExceptApiMiddleware(LoginRequiredMiddleware):
    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(MACHINE_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


# The tracking API, and the two root paths of RudderStack's browser SDK (its config and its beacons).
TRACKING_PREFIXES = ("/v1/", "/beacon/", "/sourceConfig/")
TRACKING_URLCONF = "cdpcrm.tracking_urlconf"


class TrackingFastPathMiddleware:
    """Answer the tracking API (/v1/) right here, without the rest of the middleware chain.

    Tracking clients post hundreds of requests a second and need none of sessions, CSRF, users, messages,
    htmx or history; skipping them (and the page URL patterns) takes about a tenth off each request's CPU.
    Placed after SecurityMiddleware, WhiteNoise and CORS, so their headers and the CORS preflight still apply
    on the way in and out. A /v1/ path that is not a tracking URL goes down the normal chain (404 there).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(TRACKING_PREFIXES):
            try:
                match = get_resolver(TRACKING_URLCONF).resolve(request.path_info)
            except Resolver404:
                return self.get_response(request)
            request.resolver_match = match
            # No "SELECT 1" health check before the first query: a dead connection fails that query, the
            # client gets a 500 and retries (every Segment library does), and Django drops the connection.
            connection.health_check_done = True
            return match.func(request, *match.args, **match.kwargs)
        return self.get_response(request)


class QueryNulStripMiddleware:
    """Pages never see a NUL byte in a query parameter: it is removed before any view reads `request.GET`
    (nor an empty admin `_to_field`).

    PostgreSQL refuses NUL in text, so a search or filter value carrying one would fail its query (a 500).
    The machine APIs keep theirs and answer 400 naming the parameter.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if ("%00" in query or NUL in query) and not request.path.startswith(MACHINE_PREFIXES):
            request.GET = querydict_without_nul(request.GET)
        if "_to_field=" in query and not request.GET.get(TO_FIELD_VAR, "x"):
            # Django's admin change form looks an empty `_to_field` up as a field name (a KeyError, a 500).
            request.GET = request.GET.copy()
            del request.GET[TO_FIELD_VAR]
        return self.get_response(request)
