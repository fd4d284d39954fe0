"""The connector section's actions for marketers: set or rotate the secret, send a test event."""

from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from profiles.models import Source

from .base import SignatureInvalid
from .registry import connector_for
from .selectors import connector_panel
from .services import connector_secret_rotate, connector_secret_set, connector_test_send


def _connector_source(pk: int) -> Source:
    source = get_object_or_404(Source, pk=pk)
    if connector_for(source.kind) is None:
        raise Http404("this source is not a connector")
    return source


def _panel(request: HttpRequest, source: Source, *, notice: str = "", status: int = 200) -> HttpResponse:
    if not request.htmx:
        return redirect(source)
    context = {
        "panel": connector_panel(source=source, base_url=request.build_absolute_uri("/")),
        "notice": notice,
    }
    return render(request, "connectors/partials/_panel.html", context, status=status)


@permission_required("profiles.view_source", raise_exception=True)
@require_GET
def panel(request: HttpRequest, pk: int) -> HttpResponse:
    source = _connector_source(pk)
    return _panel(request, source)


@permission_required("profiles.change_source", raise_exception=True)
@require_POST
def secret(request: HttpRequest, pk: int) -> HttpResponse:
    source = _connector_source(pk)
    connector = connector_for(source.kind)
    if connector.secret_from_vendor:
        value = request.POST.get("secret", "").strip()
        if not value:
            return _panel(request, source, notice="Paste the secret from the vendor first.", status=400)
        connector_secret_set(source=source, secret=value)
        notice = "Secret saved: deliveries signed with it are accepted from now on."
    else:
        connector_secret_rotate(source=source)
        notice = "New secret made: update it in the vendor, the old one is refused from now on."
    return _panel(request, source, notice=notice)


@permission_required("profiles.change_source", raise_exception=True)
@require_POST
def test_event(request: HttpRequest, pk: int) -> HttpResponse:
    source = _connector_source(pk)
    try:
        received = connector_test_send(source=source)
    except SignatureInvalid as exc:
        return _panel(request, source, notice=str(exc), status=400)
    delivery = received.delivery
    notice = (
        f"Test delivery {delivery.status}: {delivery.event_count} event(s) sent through the inbox."
        if delivery.status == delivery.Status.ACCEPTED
        else f"Test delivery rejected: {delivery.reason}"
    )
    return _panel(request, source, notice=notice)
