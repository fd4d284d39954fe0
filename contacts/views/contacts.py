"""Contact pages: list, CSV export, detail, create, edit (full page and inline), delete."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.htmx import toast

from .. import selectors, services
from ..forms import ActivityForm, ContactForm, TaskForm
from ..models import Company, Contact, LoyaltyAccount, Tag
from ..panels import contact_panels_for
from .activities import feed_context
from .helpers import querystring, sort_links, url_to
from .loyalty import loyalty_context

CONTACTS_PER_PAGE = 25


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
        "querystring_without_page": querystring(params),
        "export_qs": querystring(params),
        "sort_links": sort_links(
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
        **feed_context(
            *selectors.activity_page_for_contact(contact_id=contact.pk),
            url=url_to("contacts:contact_activity_feed", contact.pk),
        ),
        "activity_form": ActivityForm(auto_id="activity_%s"),
        "activity_post_url": url_to("contacts:contact_activity_create", contact.pk),
        "tasks": selectors.task_list_for_contact(contact_id=contact.pk),
        "task_form": TaskForm(auto_id="task_%s", initial={"assignee": request.user.pk}),
        "task_post_url": url_to("contacts:contact_task_create", contact.pk),
        **loyalty_context(contact, account),
        "panels": contact_panels_for(user=request.user, contact_id=contact.pk),
    }


def _has_loyalty(contact: Contact) -> bool:
    try:
        return contact.loyalty is not None
    except LoyaltyAccount.DoesNotExist:
        return False


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
    return render(request, "contacts/partials/contact_facts.html#view", {"contact": contact})


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
                response = render(request, "contacts/partials/contact_facts.html#view", {"contact": fresh})
                return toast(response, "Contact saved.")
            messages.success(request, "Contact saved.")
            return redirect(contact)
    if inline:
        return render(
            request, "contacts/partials/contact_facts.html#form", {"form": form, "contact": contact}
        )
    return render(request, "contacts/contact_form.html", {"form": form, "contact": contact})


@require_POST
@permission_required("contacts.delete_contact", raise_exception=True)
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    name = contact.full_name
    services.contact_delete(contact=contact, user=request.user)
    messages.success(request, f"Contact {name} deleted.")
    return redirect("contacts:contact_list")
