"""Pages and htmx partials of the CRM core: contacts, companies, activities, tasks, loyalty, reports."""

import csv
import json
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors, services
from .forms import (
    ActivityForm,
    CompanyForm,
    ContactForm,
    LoyaltyEnrollForm,
    LoyaltyNoteForm,
    LoyaltyPointsForm,
    LoyaltyTierForm,
    TaskForm,
)
from .models import Company, Contact, LoyaltyAccount, Tag, Task
from .panels import company_panels_for, contact_panels_for

CONTACTS_PER_PAGE = 25
COMPANIES_PER_PAGE = 25
TASKS_PER_PAGE = 25


def _toast(response: HttpResponse, message: str, kind: str = "success") -> HttpResponse:
    response["HX-Trigger"] = json.dumps({"toast": {"message": message, "kind": kind}})
    return response


def _querystring(params: dict, **changes) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "")}
    return urlencode(merged)


def _sort_links(params: dict, columns: list[str], current: str) -> dict:
    """For each sortable column: the querystring that sorts by it (toggling direction) and its state."""
    links = {}
    for column in columns:
        state = "asc" if current == column else "desc" if current == f"-{column}" else ""
        target = f"-{column}" if state == "asc" else column
        links[column] = {"qs": _querystring(params, sort=target, page=None), "state": state}
    return links


# --- contacts ---------------------------------------------------------------------------------------

CONTACT_FILTERS = ("q", "owner", "lifecycle", "tag", "company", "sort")


def _contact_filters(request: HttpRequest) -> dict:
    return {key: request.GET.get(key, "").strip() for key in CONTACT_FILTERS}


def _contacts_filtered(request: HttpRequest, params: dict):
    return selectors.contact_list(
        q=params["q"],
        owner=params["owner"],
        lifecycle=params["lifecycle"],
        tag=params["tag"],
        company=params["company"],
        sort=params["sort"] or "name",
        user=request.user,
    )


@require_GET
@permission_required("contacts.view_contact", raise_exception=True)
def contact_list(request: HttpRequest) -> HttpResponse:
    params = _contact_filters(request)
    page_obj = Paginator(_contacts_filtered(request, params), CONTACTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "page_obj": page_obj,
        "contacts": page_obj.object_list,
        "params": params,
        "querystring_without_page": _querystring(params),
        "export_qs": _querystring(params),
        "sort_links": _sort_links(
            params,
            ["name", "email", "company", "owner", "lifecycle", "last_activity"],
            params["sort"] or "name",
        ),
        "is_filtered": any(params[k] for k in ("q", "owner", "lifecycle", "tag", "company")),
    }
    if request.htmx and request.htmx.target == "contact-table":
        return render(request, "contacts/partials/_contact_table.html", context)
    context |= {
        "owners": selectors.owner_choices(),
        "lifecycles": Contact.Lifecycle.choices,
        "tags": Tag.objects.order_by("name"),
        "companies": Company.objects.order_by("name").only("id", "name"),
    }
    return render(request, "contacts/contact_list.html", context)


class _Echo:
    def write(self, value):
        return value


CSV_HEADER = [
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "company",
    "owner",
    "lifecycle_stage",
    "lead_source",
    "tags",
    "last_activity_at",
    "created_at",
    "updated_at",
]


def _csv_safe(value) -> str:
    """Spreadsheet apps run cells starting with = + - @ as formulas; quote them."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") and not text[1:2].isdigit() else text


@require_GET
@permission_required("contacts.view_contact", raise_exception=True)
def contact_export(request: HttpRequest) -> StreamingHttpResponse:
    params = _contact_filters(request)
    contacts = _contacts_filtered(request, params)
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_HEADER)
        for c in contacts.iterator(chunk_size=500):
            yield writer.writerow(
                [
                    _csv_safe(v)
                    for v in (
                        c.pk,
                        c.first_name,
                        c.last_name,
                        c.email,
                        str(c.phone) if c.phone else "",
                        c.job_title,
                        c.company.name if c.company else "",
                        c.owner.username if c.owner else "",
                        c.lifecycle_stage,
                        c.lead_source,
                        ";".join(t.name for t in c.tags.all()),
                        c.last_activity_at.isoformat() if c.last_activity_at else "",
                        c.created_at.isoformat(),
                        c.updated_at.isoformat(),
                    )
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="contacts-{stamp}.csv"'
    return response


def _contact_detail_context(request: HttpRequest, contact: Contact) -> dict:
    account = getattr(contact, "loyalty", None) if _has_loyalty(contact) else None
    return {
        "contact": contact,
        **_feed_context(
            *selectors.activity_page_for_contact(contact_id=contact.pk),
            url=_url("contacts:contact_activity_feed", contact.pk),
        ),
        "activity_form": ActivityForm(auto_id="activity_%s"),
        "activity_post_url": _url("contacts:contact_activity_create", contact.pk),
        "tasks": selectors.task_list_for_contact(contact_id=contact.pk),
        "task_form": TaskForm(auto_id="task_%s", initial={"assignee": request.user.pk}),
        "task_post_url": _url("contacts:contact_task_create", contact.pk),
        **_loyalty_context(contact, account),
        "panels": contact_panels_for(user=request.user, contact_id=contact.pk),
    }


def _has_loyalty(contact: Contact) -> bool:
    try:
        return contact.loyalty is not None
    except LoyaltyAccount.DoesNotExist:
        return False


def _url(name: str, *args) -> str:
    return reverse(name, args=args)


@require_GET
@permission_required("contacts.view_contact", raise_exception=True)
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        contact = selectors.contact_get_for_detail(contact_id=pk)
    except Contact.DoesNotExist:
        return render(request, "contacts/not_found.html", {"what": "contact"}, status=404)
    services.contact_mark_viewed(user=request.user, contact=contact)
    return render(request, "contacts/contact_detail.html", _contact_detail_context(request, contact))


@require_GET
@permission_required("contacts.view_contact", raise_exception=True)
def contact_facts(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(selectors.contact_list(), pk=pk)
    return render(request, "contacts/partials/_contact_facts.html", {"contact": contact})


@require_http_methods(["GET", "POST"])
@permission_required("contacts.add_contact", raise_exception=True)
def contact_create(request: HttpRequest) -> HttpResponse:
    form = ContactForm(request.POST or None, initial={"owner": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(user=request.user, **form.service_fields())
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Contact {contact.full_name} created.")
            return redirect(contact)
    return render(request, "contacts/contact_form.html", {"form": form, "contact": None})


@require_http_methods(["GET", "POST"])
@permission_required("contacts.change_contact", raise_exception=True)
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Full edit page; with htmx the same URL serves the inline edit of the contact header."""
    contact = get_object_or_404(Contact.objects.prefetch_related("tags"), pk=pk)
    inline = bool(request.htmx)
    form = ContactForm(request.POST or None, initial=ContactForm.initial_for(contact), auto_id="facts_%s")
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(contact=contact, user=request.user, **form.service_fields())
        except ValidationError as error:
            form.add_service_error(error)
        else:
            if inline:
                fresh = selectors.contact_list().get(pk=pk)
                response = render(request, "contacts/partials/_contact_facts.html", {"contact": fresh})
                return _toast(response, "Contact saved.")
            messages.success(request, "Contact saved.")
            return redirect(contact)
    if inline:
        return render(
            request, "contacts/partials/_contact_facts_form.html", {"form": form, "contact": contact}
        )
    return render(request, "contacts/contact_form.html", {"form": form, "contact": contact})


def _feed_context(activities: list, cursor: tuple | None, *, url: str) -> dict:
    more_url = ""
    if cursor is not None:
        more_url = f"{url}?{urlencode({'before_at': cursor[0].isoformat(), 'before_id': cursor[1]})}"
    return {"activities": activities, "feed_more_url": more_url}


def _feed_cursor(request: HttpRequest) -> tuple | None:
    when = parse_datetime(request.GET.get("before_at", ""))
    pk = request.GET.get("before_id", "")
    return (when, int(pk)) if when and pk.isdigit() else None


@require_GET
@permission_required("contacts.view_activity", raise_exception=True)
def contact_activity_feed(request: HttpRequest, pk: int) -> HttpResponse:
    """Older entries of a contact's feed ("Show older"), keyset-paginated."""
    page = selectors.activity_page_for_contact(contact_id=pk, before=_feed_cursor(request))
    context = _feed_context(*page, url=_url("contacts:contact_activity_feed", pk))
    return render(request, "contacts/partials/_activity_page.html", context)


@require_GET
@permission_required("contacts.view_activity", raise_exception=True)
def company_activity_feed(request: HttpRequest, pk: int) -> HttpResponse:
    page = selectors.activity_page_for_company(company_id=pk, before=_feed_cursor(request))
    context = _feed_context(*page, url=_url("contacts:company_activity_feed", pk)) | {"show_contact": True}
    return render(request, "contacts/partials/_activity_page.html", context)


@require_POST
@permission_required("contacts.delete_contact", raise_exception=True)
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    name = contact.full_name
    services.contact_delete(contact=contact, user=request.user)
    messages.success(request, f"Contact {name} deleted.")
    return redirect("contacts:contact_list")


@require_POST
@permission_required("contacts.delete_company", raise_exception=True)
def company_delete(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=pk)
    name = company.name
    services.company_delete(company=company, user=request.user)
    messages.success(request, f"Company {name} deleted; its contacts were kept.")
    return redirect("contacts:company_list")


@require_POST
@permission_required("contacts.add_activity", raise_exception=True)
def contact_activity_create(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    return _activity_create(request, contact=contact, company=None, redirect_to=contact)


@require_POST
@permission_required("contacts.add_activity", raise_exception=True)
def company_activity_create(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=pk)
    return _activity_create(request, contact=None, company=company, redirect_to=company)


def _activity_create(request: HttpRequest, *, contact, company, redirect_to) -> HttpResponse:
    form = ActivityForm(request.POST, auto_id="activity_%s")
    post_url = request.path
    activity = None
    if form.is_valid():
        try:
            activity = services.activity_create(
                author=request.user, contact=contact, company=company, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_service_error(error)
    if not request.htmx:
        if activity:
            messages.success(request, f"{activity.get_kind_display()} logged.")
        else:
            messages.error(
                request,
                "The activity was not logged: "
                + "; ".join(str(m) for errors in form.errors.values() for m in errors),
            )
        return redirect(redirect_to)
    if activity is None:
        return render(
            request,
            "contacts/partials/_activity_form.html",
            {"activity_form": form, "activity_post_url": post_url},
        )
    kind = form.cleaned_data["kind"]
    response = render(
        request,
        "contacts/partials/_activity_created.html",
        {
            "activity_form": ActivityForm(auto_id="activity_%s", initial={"kind": kind}),
            "activity_post_url": post_url,
            "activity": activity,
            "show_contact": company is not None,
        },
    )
    return _toast(response, f"{activity.get_kind_display()} logged.")


# --- tasks ------------------------------------------------------------------------------------------


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
        "contacts/partials/_tasks.html",
        {
            "tasks": tasks,
            "task_form": form,
            "task_post_url": request.path,
            "show_target": company is not None,
        },
    )
    return _toast(response, "Task added.") if created else response


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
    name = "contacts/partials/_my_task_row.html" if template == "my" else "contacts/partials/_task_row.html"
    return _toast(render(request, name, {"task": task, "show_target": template == "company"}), message)


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
            "querystring_without_page": _querystring({"status": status}),
        },
    )


# --- loyalty ----------------------------------------------------------------------------------------


def _loyalty_context(contact: Contact, account: LoyaltyAccount | None, **forms) -> dict:
    return {
        "contact": contact,
        "account": account,
        "ledger": selectors.loyalty_ledger(account_id=account.pk) if account else [],
        "enroll_form": forms.get("enroll_form") or LoyaltyEnrollForm(auto_id="enroll_%s"),
        "points_form": forms.get("points_form") or LoyaltyPointsForm(auto_id="points_%s"),
        "tier_form": forms.get("tier_form")
        or LoyaltyTierForm(auto_id="tier_%s", initial={"tier": account.tier if account else "bronze"}),
        "note_form": forms.get("note_form") or LoyaltyNoteForm(auto_id="lnote_%s"),
        "loyalty_open": forms.get("open", ""),
    }


LOYALTY_ACTIONS = {
    "enroll": ("contacts.add_loyaltyaccount", LoyaltyEnrollForm, "enroll_form", "enroll_%s"),
    "points": ("contacts.add_loyaltynote", LoyaltyPointsForm, "points_form", "points_%s"),
    "tier": ("contacts.add_loyaltynote", LoyaltyTierForm, "tier_form", "tier_%s"),
    "note": ("contacts.add_loyaltynote", LoyaltyNoteForm, "note_form", "lnote_%s"),
}


@require_POST
@permission_required("contacts.view_contact", raise_exception=True)
def contact_loyalty(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in LOYALTY_ACTIONS:
        return HttpResponse(status=404)
    perm, form_class, form_key, auto_id = LOYALTY_ACTIONS[action]
    if not request.user.has_perm(perm):
        raise PermissionDenied
    contact = get_object_or_404(Contact, pk=pk)
    account = LoyaltyAccount.objects.filter(contact=contact).first()
    form = form_class(request.POST, auto_id=auto_id)
    done = ""
    if account is None and action != "enroll":
        form.add_error(None, "Enroll the contact in the loyalty program first.")
    elif form.is_valid():
        data = form.cleaned_data
        try:
            if action == "enroll":
                account = services.loyalty_enroll(contact=contact, user=request.user, tier=data["tier"])
                done = "Enrolled in the loyalty program."
            elif action == "points":
                services.loyalty_points_add(
                    account=account,
                    user=request.user,
                    delta=form.delta(),
                    kind=data["kind"],
                    text=data["text"],
                )
                done = "Points recorded."
            elif action == "tier":
                services.loyalty_tier_change(
                    account=account, user=request.user, tier=data["tier"], text=data["text"]
                )
                done = "Tier changed."
            else:
                services.loyalty_note_add(account=account, user=request.user, text=data["text"])
                done = "Note added."
        except ValidationError as error:
            form.add_service_error(error)
    if not request.htmx:
        if done:
            messages.success(request, done)
        else:
            messages.error(request, "; ".join(str(m) for errors in form.errors.values() for m in errors))
        return redirect(contact)
    if account is not None:
        account.refresh_from_db()
    extra = {} if done else {form_key: form, "open": action}
    response = render(request, "contacts/partials/_loyalty.html", _loyalty_context(contact, account, **extra))
    return _toast(response, done) if done else response


# --- companies --------------------------------------------------------------------------------------

COMPANY_FILTERS = ("q", "owner", "industry", "sort")


@require_GET
@permission_required("contacts.view_company", raise_exception=True)
def company_list(request: HttpRequest) -> HttpResponse:
    params = {key: request.GET.get(key, "").strip() for key in COMPANY_FILTERS}
    companies = selectors.company_list(
        q=params["q"],
        owner=params["owner"],
        industry=params["industry"],
        sort=params["sort"] or "name",
        user=request.user,
    )
    page_obj = Paginator(companies, COMPANIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page_obj": page_obj,
        "companies": page_obj.object_list,
        "params": params,
        "querystring_without_page": _querystring(params),
        "sort_links": _sort_links(
            params, ["name", "industry", "contacts", "owner", "updated"], params["sort"] or "name"
        ),
        "is_filtered": any(params[k] for k in ("q", "owner", "industry")),
    }
    if request.htmx and request.htmx.target == "company-table":
        return render(request, "contacts/partials/_company_table.html", context)
    context |= {"owners": selectors.owner_choices(), "industries": selectors.company_industries()}
    return render(request, "contacts/company_list.html", context)


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
        **_feed_context(
            *selectors.activity_page_for_company(company_id=pk),
            url=_url("contacts:company_activity_feed", pk),
        ),
        "activity_form": ActivityForm(auto_id="activity_%s"),
        "activity_post_url": _url("contacts:company_activity_create", pk),
        "tasks": selectors.task_list_for_company(company_id=pk),
        "task_form": TaskForm(auto_id="task_%s", initial={"assignee": request.user.pk}),
        "task_post_url": _url("contacts:company_task_create", pk),
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
            company = services.company_create(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Company {company.name} created.")
            return redirect(company)
    return render(request, "contacts/company_form.html", {"form": form, "company": None})


@require_http_methods(["GET", "POST"])
@permission_required("contacts.change_company", raise_exception=True)
def company_edit(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=pk)
    form = CompanyForm(request.POST or None, initial=CompanyForm.initial_for(company))
    if request.method == "POST" and form.is_valid():
        try:
            services.company_update(company=company, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, "Company saved.")
            return redirect(company)
    return render(request, "contacts/company_form.html", {"form": form, "company": company})


# --- reports ----------------------------------------------------------------------------------------


@require_GET
@permission_required("contacts.view_contact", raise_exception=True)
def lifecycle_report(request: HttpRequest) -> HttpResponse:
    return render(request, "contacts/lifecycle_report.html", {"report": selectors.lifecycle_report()})
