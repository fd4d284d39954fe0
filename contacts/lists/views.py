"""What every list page renders around its rows, and the saved-view endpoints (save, update, delete)."""

__all__ = ["list_context", "list_page"]

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from common.htmx import error_text

from ..models import SavedView
from . import saved
from .paging import list_page
from .registry import ListSpec, list_get
from .state import ListState, list_state_from


def list_context(request: HttpRequest, state: ListState, page_obj) -> dict:
    """Context of templates/lists/results.html: toolbar (views, columns), bulk bar, table, footer."""
    spec = state.spec
    tabs = saved.saved_view_tabs(
        user=request.user, state=state, views=saved.saved_views_for(user=request.user, list_key=spec.key)
    )
    active = next((tab for tab in tabs if tab["active"]), None)
    return {
        "list": state,
        "spec": spec,
        "page_obj": page_obj,
        "rows": page_obj.object_list,
        "headers": state.headers(),
        "view_tabs": tabs,
        "active_view": active,
        "bulk_actions": [a for a in spec.bulk_actions if request.user.has_perm(a.permission)],
        "querystring_without_page": state.querystring(page=None),
        "current_querystring": state.querystring(page=page_obj.number if page_obj.number > 1 else None),
        "column_choices": [
            {"column": column, "checked": column.key in state.column_keys or column.required}
            for column in spec.columns
        ],
    }


def _spec_for(request: HttpRequest) -> ListSpec:
    spec = list_get(request.POST.get("list", ""))
    if spec is None:
        raise Http404("no such list")
    if not request.user.has_perm(spec.view_permission):
        raise PermissionDenied
    return spec


def _posted_state(request: HttpRequest, spec: ListSpec) -> ListState:
    return list_state_from(QueryDict(request.POST.get("querystring", "").replace("\x00", "")), spec)


def _back(spec: ListSpec, state: ListState, saved_id: int | None) -> HttpResponse:
    query = state.querystring(saved=saved_id, page=None)
    return redirect(f"{reverse(spec.url_name)}{'?' + query if query else ''}")


@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    spec = _spec_for(request)
    state = _posted_state(request, spec)
    try:
        view = saved.saved_view_create(
            user=request.user,
            state=state,
            name=request.POST.get("name", ""),
            shared=bool(request.POST.get("shared")),
        )
    except ValidationError as error:
        messages.error(request, f"The view was not saved: {error_text(error)}")
        return _back(spec, state, state.saved_id)
    messages.success(
        request, f"View “{view.name}” saved{' and shared with everyone' if view.shared else ''}."
    )
    return _back(spec, state, view.pk)


@require_POST
def saved_view_update(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk)
    spec = list_get(view.list_key)
    if spec is None or not request.user.has_perm(spec.view_permission):
        raise PermissionDenied
    state = _posted_state(request, spec)
    name = request.POST.get("name")
    shared = request.POST.get("shared") if "shared_present" in request.POST else None
    try:
        saved.saved_view_update(
            view=view,
            user=request.user,
            state=state if request.POST.get("replace_state") else None,
            name=name,
            shared=shared,
        )
    except ValidationError as error:
        messages.error(request, f"The view was not changed: {error_text(error)}")
        return _back(spec, state, view.pk)
    messages.success(request, f"View “{view.name}” updated.")
    return _back(spec, state, view.pk)


@require_POST
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk)
    spec = list_get(view.list_key)
    if spec is None or not request.user.has_perm(spec.view_permission):
        raise PermissionDenied
    name = view.name
    saved.saved_view_delete(view=view, user=request.user)
    messages.success(request, f"View “{name}” deleted.")
    return redirect(spec.url_name)
