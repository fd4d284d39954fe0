"""Tasks: adding one to a contact or company, ticking it off, and "my tasks"."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from common.htmx import toast

from .. import selectors, services
from ..forms import TaskForm
from ..models import Company, Contact, Task
from .helpers import changed, querystring

TASKS_PER_PAGE = 25


def _task_create(request: HttpRequest, *, contact, company, redirect_to) -> HttpResponse:
    form = TaskForm(request.POST, auto_id="task_%s")
    created = None
    if form.is_valid():
        try:
            created = services.task_create(
                created_by=request.user,
                title=form.cleaned_data["title"],
                due_at=form.cleaned_data["due_at"],
                assignee=form.cleaned_data["assignee"] or request.user,
                contact=contact,
                company=company,
            )
        except ValidationError as error:
            form.add_service_error(error)
    if not request.htmx:
        if created:
            messages.success(request, "Task added.")
        else:
            messages.error(request, "The task was not added: check the title.")
        return redirect(redirect_to)
    if created:
        form = TaskForm(auto_id="task_%s", initial={"assignee": request.user.pk})
    tasks = (
        selectors.task_list_for_contact(contact_id=contact.pk)
        if contact
        else selectors.task_list_for_company(company_id=company.pk)
    )
    response = render(
        request,
        "contacts/partials/tasks.html#list",
        {
            "tasks": tasks,
            "task_form": form,
            "task_post_url": request.path,
            "show_target": company is not None,
        },
    )
    return changed(toast(response, "Task added.")) if created else response


@require_POST
@permission_required("contacts.add_task", raise_exception=True)
def contact_task_create(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    return _task_create(request, contact=contact, company=None, redirect_to=contact)


@require_POST
@permission_required("contacts.add_task", raise_exception=True)
def company_task_create(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=pk)
    return _task_create(request, contact=None, company=company, redirect_to=company)


@require_POST
@permission_required("contacts.change_task", raise_exception=True)
def task_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(Task.objects.select_related("contact", "company", "assignee"), pk=pk)
    if task.is_done:
        services.task_reopen(task=task, user=request.user)
        message = "Task reopened."
    else:
        services.task_complete(task=task, user=request.user)
        message = "Task done."
    if not request.htmx:
        messages.success(request, message)
        return redirect(request.POST.get("next") or "contacts:task_list")
    template = request.POST.get("row", "task")
    name = "contacts/partials/tasks.html#my-row" if template == "my" else "contacts/partials/tasks.html#row"
    return changed(
        toast(render(request, name, {"task": task, "show_target": template == "company"}), message)
    )


@require_GET
@permission_required("contacts.view_task", raise_exception=True)
def task_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    if status not in ("open", "done", "all"):
        status = "open"
    page_obj = Paginator(selectors.task_list_for(user=request.user, status=status), TASKS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    return render(
        request,
        "contacts/task_list.html",
        {
            "page_obj": page_obj,
            "tasks": page_obj.object_list,
            "status": status,
            "now": now,
            "querystring_without_page": querystring({"status": status}),
        },
    )
