"""The deal page: inline edit, stage changes with history, activities, tasks and delete."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.htmx import error_text, refused, toast
from contacts import services as contact_services
from contacts.forms import ActivityForm, TaskForm
from contacts.models import Task

from .. import selectors, services
from ..forms import DealFieldsForm, MoveForm
from ..models import Deal
from .permissions import CHANGE, VIEW


def _detail_context(request: HttpRequest, deal: Deal) -> dict:
    return {
        "deal": deal,
        "stages": selectors.stage_list(pipeline=deal.pipeline),
        "history": selectors.deal_stage_history(deal=deal),
        "activities": selectors.deal_activities(deal=deal),
        "tasks": selectors.deal_tasks(deal=deal),
        "activity_form": ActivityForm(),
        "task_form": TaskForm(initial={"assignee": deal.owner_id}),
    }


@permission_required(VIEW, raise_exception=True)
@require_GET
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    return render(request, "pipeline/deal_detail.html", _detail_context(request, deal))


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Inline edit of the deal's fields: GET the form partial, POST saves and answers the read-only card."""
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    if request.method == "GET":
        form = DealFieldsForm(instance=deal)
        template = "pipeline/partials/deal_fields.html#form" if request.htmx else "pipeline/deal_edit.html"
        return render(request, template, {"deal": deal, "form": form})
    form = DealFieldsForm(request.POST, instance=deal)
    if form.is_valid():
        try:
            services.deal_update(deal=deal, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            deal = selectors.deal_detail(pk=deal.pk)
            if not request.htmx:
                messages.success(request, "Deal saved.")
                return redirect(deal)
            response = render(
                request, "pipeline/partials/deal_fields.html#view", {"deal": deal, "oob_title": True}
            )
            return toast(response, "Deal saved.")
    deal.refresh_from_db()
    template = "pipeline/partials/deal_fields.html#form" if request.htmx else "pipeline/deal_edit.html"
    return render(request, template, {"deal": deal, "form": form})


@permission_required(VIEW, raise_exception=True)
@require_GET
def deal_fields(request: HttpRequest, pk: int) -> HttpResponse:
    """The read-only fields card (the inline edit's Cancel)."""
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    return render(request, "pipeline/partials/deal_fields.html#view", {"deal": deal})


@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_stage_set(request: HttpRequest, pk: int) -> HttpResponse:
    """Stage change from the deal page (same service as the board): answers the stage card with history."""
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    form = MoveForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.deal_move(
                deal=deal,
                stage=form.cleaned_data["stage"],
                user=request.user,
                lost_reason=form.cleaned_data["lost_reason"],
            )
        except ValidationError as exc:
            error = error_text(exc)
    else:
        error = "Pick a stage."
    deal = selectors.deal_detail(pk=deal.pk)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(deal)
    context = {
        "deal": deal,
        "stages": selectors.stage_list(pipeline=deal.pipeline),
        "history": selectors.deal_stage_history(deal=deal),
        "stage_error": error,
        "posted": form.data if error else {},
    }
    response = render(request, "pipeline/partials/_deal_stage.html", context)
    return response if error else toast(response, f"Moved to {deal.stage.name}.")


@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_delete(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(Deal, pk=pk)
    if not request.user.has_perm("pipeline.delete_deal"):
        return refused("You don't have permission to delete deals.", status=403)
    title = deal.title
    services.deal_delete(deal=deal, user=request.user)
    messages.success(request, f"Deal “{title}” deleted.")
    return redirect("pipeline:board")


def _back_to_deal(request: HttpRequest, deal: Deal, form, success: str) -> HttpResponse:
    """Without htmx (no JavaScript) a form post lands back on the deal page with a message."""
    if form.is_bound:
        errors = " ".join(str(error) for errors in form.errors.values() for error in errors)
        messages.error(request, errors or "Please check the form.")
    else:
        messages.success(request, success)
    return redirect(deal)


@permission_required("contacts.add_activity", raise_exception=True)
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_activity_create(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    form = ActivityForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            contact_services.activity_create(
                author=request.user,
                kind=data["kind"],
                occurred_at=data["occurred_at"],
                contact=deal.contact,
                company=deal.company,
                deal_id=deal.pk,
                subject=data["subject"],
                body=data["body"],
                direction=data["direction"],
                duration_minutes=data["duration_minutes"],
            )
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            form = ActivityForm()
    if not request.htmx:
        return _back_to_deal(request, deal, form, "Activity logged.")
    context = {"deal": deal, "activities": selectors.deal_activities(deal=deal), "activity_form": form}
    response = render(request, "pipeline/partials/_deal_activities.html", context)
    return response if form.is_bound else toast(response, "Activity logged.")


@permission_required("contacts.add_task", raise_exception=True)
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_task_create(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    form = TaskForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            contact_services.task_create(
                created_by=request.user,
                title=data["title"],
                due_at=data["due_at"],
                assignee=data["assignee"],
                contact=deal.contact,
                company=deal.company,
                deal_id=deal.pk,
                notes=data["notes"],
            )
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            form = TaskForm(initial={"assignee": deal.owner_id})
    if not request.htmx:
        return _back_to_deal(request, deal, form, "Task added.")
    context = {"deal": deal, "tasks": selectors.deal_tasks(deal=deal), "task_form": form}
    response = render(request, "pipeline/partials/_deal_tasks.html", context)
    return response if form.is_bound else toast(response, "Task added.")


@permission_required("contacts.change_task", raise_exception=True)
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_task_complete(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    task = get_object_or_404(Task, pk=task_pk, deal_id=deal.pk)
    contact_services.task_complete(task=task, user=request.user)
    if not request.htmx:
        return redirect(deal)
    context = {"deal": deal, "tasks": selectors.deal_tasks(deal=deal), "task_form": TaskForm()}
    return toast(render(request, "pipeline/partials/_deal_tasks.html", context), "Task done.")
