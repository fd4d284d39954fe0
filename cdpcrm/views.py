"""Project-level pages: home ("my work"), global search, reports index, login and health check."""

import logging
import sys

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import health
from .home import sections_for
from .reports import reports_for
from .search import search_all

logger = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """What the user's roles work on first (cdpcrm/home.py): tickets, deals, tasks, sources, segments."""
    return render(request, "cdpcrm/home.html", {"sections": sections_for(request.user)})


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    groups = search_all(query=query, user=request.user) if len(query) >= 2 else []
    template = "cdpcrm/partials/_search_results.html" if request.htmx else "cdpcrm/search.html"
    return render(request, template, {"query": query, "groups": groups})


@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    return render(request, "cdpcrm/reports.html", {"reports": reports_for(user=request.user)})


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = health.health_check()
    failing = {name for name, check in checks.items() if not check["ok"]}
    if failing - health.ADVISORY_CHECKS:
        status = "unavailable"
    else:
        status = "degraded" if failing else "ok"
    return JsonResponse({"status": status, "checks": checks}, status=503 if status == "unavailable" else 200)


@login_not_required
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """503 when the workers are stale or the inbox backs up (a supervisor or an alert acts on it)."""
    checks = health.readiness_check()
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status=200 if ready else 503
    )


UNAVAILABLE_RETRY_AFTER = 30  # seconds
# Paths whose clients read JSON: the REST API, the tracking and Profile APIs, RudderStack's config.
JSON_PREFIXES = ("/api/", "/v1/", "/beacon/", "/sourceConfig")


def _unavailable(error: BaseException | None) -> bool:
    """Is this the database or the cache Redis being unreachable (retry later), not a bug?"""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis is a dependency
        return False
    return isinstance(error, RedisConnectionError | RedisTimeoutError)


def _service_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON for API clients, else the styled page (with the navigation when the user
    can still be read, else as the logged-out layout, else plain)."""
    if request.path.startswith(JSON_PREFIXES):
        message = "The service is temporarily unavailable; retry later."
        response: HttpResponse = JsonResponse(
            {"success": False, "detail": message, "error": message, "code": "unavailable"}, status=503
        )
    else:
        response = None
        for anonymous in (False, True):
            if anonymous:
                # The session, the user and session-kept messages live in the database that is down.
                request.user = AnonymousUser()
                request._messages = CookieStorage(request)
            try:
                response = render(request, "503.html", status=503)
                break
            except Exception:  # noqa: BLE001, S112 - the error page must never fail itself
                continue
        if response is None:
            response = HttpResponse(loader.get_template("503_plain.html").render(), status=503)
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page with the navigation; if that page cannot render (the database is down), a plain one.
    An unreachable database or cache Redis is a 503 "temporarily unavailable" instead."""
    if _unavailable(sys.exc_info()[1]):
        logger.warning("%s answered 503: a backing service is unreachable", request.path)
        return _service_unavailable(request)
    try:
        return render(request, "500.html", status=500)
    except Exception:  # noqa: BLE001 - the error page must never fail itself
        logger.exception("the styled 500 page failed to render; serving the plain one")
        return HttpResponse(loader.get_template("500_plain.html").render(), status=500)
