"""Pages for marketers: sources (keys, counts, recent errors), offline CSV upload, analytics.js serving."""

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..models import Source
from ..tracking.views import analytics_settings
from . import selectors, services
from .forms import CsvUploadForm, SourceForm
from .offline import CsvRejected, offline_csv_import
from .snippet import analytics_snippet

SOURCES_PER_PAGE = 50
ANALYTICS_DIR = Path(settings.BASE_DIR) / "static" / "vendor" / "analytics"


@permission_required("profiles.view_source", raise_exception=True)
@require_GET
def source_list(request: HttpRequest) -> HttpResponse:
    page_obj = Paginator(selectors.source_list(), SOURCES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "profiles/source_list.html",
        {"page_obj": page_obj, "sources": page_obj.object_list, "querystring_without_page": ""},
    )


@permission_required("profiles.add_source", raise_exception=True)
@require_http_methods(["GET", "POST"])
def source_create(request: HttpRequest) -> HttpResponse:
    form = SourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        source, write_key = services.source_create(
            name=form.cleaned_data["name"], kind=form.cleaned_data["kind"]
        )
        return render(
            request, "profiles/source_key.html", {"source": source, "write_key": write_key, "new": True}
        )
    return render(request, "profiles/source_form.html", {"form": form}, status=400 if form.errors else 200)


@permission_required("profiles.view_source", raise_exception=True)
@require_GET
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    context = {
        "source": source,
        "event_counts": selectors.source_event_counts(source=source),
        "errors": selectors.source_recent_errors(source=source),
        "recent_events": selectors.source_recent_events(source=source),
        "pending": selectors.source_pending_batches(source=source),
        "oldest_waiting": selectors.source_oldest_waiting(source=source),
        "failing": selectors.source_failing_batches(source=source),
        "retention_days": settings.INGEST_BATCH_RETENTION_DAYS,
        "host_url": request.build_absolute_uri("/").rstrip("/"),
        "snippet": analytics_snippet(
            host_url=request.build_absolute_uri("/"), write_key=source.public_write_key or "WRITE_KEY"
        ),
        "csv_form": CsvUploadForm(),
    }
    return render(request, "profiles/source_detail.html", context)


@permission_required("profiles.change_source", raise_exception=True)
@require_POST
def source_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    write_key = services.source_rotate_key(source=source)
    return render(
        request, "profiles/source_key.html", {"source": source, "write_key": write_key, "new": False}
    )


@permission_required("profiles.change_source", raise_exception=True)
@require_POST
def source_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    services.source_set_enabled(source=source, enabled=not source.enabled)
    if source.enabled:
        messages.success(request, f"{source.name} is enabled: its write key is accepted again.")
    else:
        messages.warning(request, f"{source.name} is disabled: its requests are refused with 403.")
    return redirect(source)


@permission_required("profiles.change_source", raise_exception=True)
@require_http_methods(["GET", "POST"])
def source_csv(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    result = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = offline_csv_import(source=source, data=upload.read(), filename=upload.name)
            except CsvRejected as exc:
                form.add_error("file", str(exc))
        if form.errors:
            status = 400
    return render(
        request, "profiles/source_csv.html", {"source": source, "form": form, "result": result}, status=status
    )


# --- analytics.js, served from our host so a page needs no third-party CDN ------------------------------


def _analytics_file(name: str) -> FileResponse:
    path = (ANALYTICS_DIR / name).resolve()
    if path.parent != ANALYTICS_DIR.resolve() or path.suffix != ".js" or not path.is_file():
        raise Http404("no such file")
    response = FileResponse(path.open("rb"), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@login_not_required
@require_GET
def analytics_script(request: HttpRequest, write_key: str) -> FileResponse:
    return _analytics_file("standalone.js")


@login_not_required
@require_GET
def analytics_bundle(request: HttpRequest, name: str) -> FileResponse:
    return _analytics_file(name)


analytics_cdn_settings = analytics_settings
