"""Project-level pages: home ("my work"), global search, reports index, login and health check."""

import logging

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
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


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page with the navigation; if that page cannot render (the database is down), a plain one."""
    try:
        return render(request, "500.html", status=500)
    except Exception:  # noqa: BLE001 - the error page must never fail itself
        logger.exception("the styled 500 page failed to render; serving the plain one")
        return HttpResponse(loader.get_template("500_plain.html").render(), status=500)
