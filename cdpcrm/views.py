"""Project-level pages: home ("my work"), global search, reports index, login and health check."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from contacts import selectors as contact_selectors

from . import health
from .reports import reports_for
from .search import search_all


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "tasks": contact_selectors.task_list_due_for(user=request.user, limit=10),
        "recent_contacts": contact_selectors.contact_list_recent_for(user=request.user, limit=10),
    }
    return render(request, "cdpcrm/home.html", context)


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
