"""Company pages: detail, create, edit, delete."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import selectors, services
from ..forms import ActivityForm, CompanyForm, TaskForm
from ..models import Company
from ..panels import company_panels_for
from .activities import feed_context
from .helpers import url_to


@require_GET
@permission_required("contacts.view_company", raise_exception=True)
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        company = selectors.company_get_for_detail(company_id=pk)
    except Company.DoesNotExist:
        return render(request, "contacts/not_found.html", {"what": "company"}, status=404)
    context = {
        "company": company,
        "contacts": selectors.contact_list_for_company(company_id=pk),
        **feed_context(
            *selectors.activity_page_for_company(company_id=pk),
            url=url_to("contacts:company_activity_feed", pk),
        ),
        "activity_form": ActivityForm(auto_id="activity_%s"),
        "activity_post_url": url_to("contacts:company_activity_create", pk),
        "tasks": selectors.task_list_for_company(company_id=pk),
        "task_form": TaskForm(auto_id="task_%s", initial={"assignee": request.user.pk}),
        "task_post_url": url_to("contacts:company_task_create", pk),
        "panels": company_panels_for(user=request.user, company_id=pk),
        "show_contact": True,
    }
    return render(request, "contacts/company_detail.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("contacts.add_company", raise_exception=True)
def company_create(request: HttpRequest) -> HttpResponse:
    form = CompanyForm(request.POST or None, initial={"owner": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            company = services.company_create(user=request.user, **form.service_fields())
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Company {company.name} created.")
            return redirect(company)
    return render(request, "contacts/company_form.html", {"form": form, "company": None})


@require_http_methods(["GET", "POST"])
@permission_required("contacts.change_company", raise_exception=True)
def company_edit(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company.objects.prefetch_related("tags"), pk=pk)
    form = CompanyForm(request.POST or None, initial=CompanyForm.initial_for(company))
    if request.method == "POST" and form.is_valid():
        try:
            services.company_update(company=company, user=request.user, **form.service_fields())
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, "Company saved.")
            return redirect(company)
    return render(request, "contacts/company_form.html", {"form": form, "company": company})


@require_POST
@permission_required("contacts.delete_company", raise_exception=True)
def company_delete(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=pk)
    name = company.name
    services.company_delete(company=company, user=request.user)
    messages.success(request, f"Company {name} deleted; its contacts were kept.")
    return redirect("contacts:company_list")
