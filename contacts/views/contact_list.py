"""The contact list: filters, columns, saved views, pages, CSV export and bulk actions."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from common.csv import csv_response
from common.htmx import error_text
from common.params import is_id
from common.pickers import filter_picker, picker_option, user_current
from common.security.audit import audit_record

from .. import search, selectors, services
from ..lists.bulk import UNSET, bulk_action, bulk_back_url, bulk_ids, bulk_tag_names
from ..lists.registry import BulkAction, Column, ListSpec, list_register
from ..lists.state import ListState, list_state
from ..lists.views import list_context, list_page
from ..models import Company, Contact, Tag

CELLS = "contacts/partials/contact_cells.html"
BULK = "contacts/partials/bulk_inputs.html"

CONTACT_LIST = list_register(
    ListSpec(
        key="contacts",
        view_permission="contacts.view_contact",
        noun="contact",
        noun_plural="contacts",
        url_name="contacts:contact_list",
        bulk_url_name="contacts:contact_bulk",
        results_id="contact-table",
        filter_form_id="contact-filters",
        filters=("q", "owner", "lifecycle", "tag", "company"),
        default_sort="name",
        columns=[
            Column("name", "Name", f"{CELLS}#name", sort="name", required=True),
            Column("email", "Email", f"{CELLS}#email", sort="email", css="small"),
            Column("phone", "Phone", f"{CELLS}#phone", css="small text-nowrap"),
            Column("company", "Company", f"{CELLS}#company", sort="company", css="small"),
            Column("owner", "Owner", f"{CELLS}#owner", sort="owner", css="small"),
            Column("lifecycle", "Stage", f"{CELLS}#lifecycle", sort="lifecycle"),
            Column("tags", "Tags", f"{CELLS}#tags"),
            Column("last_activity", "Last activity", f"{CELLS}#last-activity", sort="last_activity", css="small text-nowrap"),
            Column("job_title", "Job title", f"{CELLS}#job-title", sort="job_title", default=False, css="small"),
            Column("lead_source", "Lead source", f"{CELLS}#lead-source", default=False, css="small"),
            Column("created", "Created", f"{CELLS}#created", sort="created", default=False, css="small text-nowrap"),
            Column("updated", "Updated", f"{CELLS}#updated", sort="updated", default=False, css="small text-nowrap"),
        ],
        bulk_actions=[
            BulkAction("owner", "Assign owner", "contacts.change_contact", icon="person-check", inputs=f"{BULK}#owner"),
            BulkAction("tags_add", "Add tags", "contacts.change_contact", icon="tag", inputs=f"{BULK}#tags-add"),
            BulkAction("tags_remove", "Remove tags", "contacts.change_contact", icon="tag", inputs=f"{BULK}#tags-remove"),
            BulkAction(
                "lifecycle", "Set stage", "contacts.change_contact", icon="signpost", inputs=f"{BULK}#lifecycle"
            ),
            BulkAction("export", "Export", "contacts.view_contact", icon="download"),
            BulkAction("delete", "Delete", "contacts.delete_contact", icon="trash", danger=True),
        ],
        empty=f"{CELLS}#empty",
        card=f"{CELLS}#card",
    )
)  # fmt: skip


def _contacts(state: ListState, user, *, search: bool = True):
    f = state.filters
    return selectors.contact_list(
        q=f["q"] if search else "", owner=f["owner"], lifecycle=f["lifecycle"], tag=f["tag"],
        company=f["company"], sort=state.sort, user=user,
    )  # fmt: skip


def _company_current(value: str) -> dict | None:
    company = Company.objects.filter(pk=value).first() if is_id(value) else None
    return picker_option(company.pk, company.name, company.domain) if company else None


def _bulk_context(request: HttpRequest) -> dict:
    return {
        "bulk_owner_picker": filter_picker(
            name="owner",
            url_name="contacts:owner_pick",
            empty="Pick an owner…",
            statics=(("none", "Nobody"),),
            element_id="bulk-owner",
        ),
        "lifecycles": Contact.Lifecycle.choices,
    }


@require_GET
@permission_required("contacts.view_contact", raise_exception=True)
def contact_list(request: HttpRequest) -> HttpResponse:
    state = list_state(request, CONTACT_LIST)
    query = state.filters["q"]
    page_obj = list_page(
        _contacts(state, request.user),
        state,
        unsearched=_contacts(state, request.user, search=False) if query else None,
        search=search.contact_search_q(query) if query else None,
    )
    context = list_context(request, state, page_obj) | _bulk_context(request)
    context |= {
        "contacts": page_obj.object_list,
        "table_actions": f"{CELLS}#export",
        "export_qs": state.querystring(saved=None),
    }
    if request.htmx and request.htmx.target == CONTACT_LIST.results_id:
        return render(request, "lists/results.html", context)
    filters = state.filters
    context |= {
        "params": filters,
        "owner_picker": filter_picker(
            name="owner",
            url_name="contacts:owner_pick",
            empty="Anyone",
            value=filters["owner"],
            current=user_current(selectors.owner_choices(), filters["owner"]),
            statics=(("me", "Me"), ("none", "Unassigned")),
        ),
        "company_picker": filter_picker(
            name="company",
            url_name="contacts:company_pick",
            empty="Any company",
            value=filters["company"],
            current=_company_current(filters["company"]),
        ),
        "lifecycles": Contact.Lifecycle.choices,
        "tags": Tag.objects.order_by("name"),
    }
    return render(request, "contacts/contact_list.html", context)


CSV_HEADER = [
    "id", "first_name", "last_name", "email", "phone", "job_title", "company", "owner",
    "lifecycle_stage", "lead_source", "tags", "last_activity_at", "created_at", "updated_at",
]  # fmt: skip


def contacts_csv(contacts, *, filename: str) -> HttpResponse:
    rows = (
        (
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
        )  # fmt: skip
        for c in contacts.iterator(chunk_size=500)
    )
    return csv_response(filename=filename, header=CSV_HEADER, rows=rows)


def _csv_name(prefix: str = "contacts") -> str:
    return f"{prefix}-{timezone.now():%Y%m%d-%H%M}.csv"


@require_GET
@permission_required("contacts.view_contact", raise_exception=True)
def contact_export(request: HttpRequest) -> HttpResponse:
    """Every contact the list's filters match, streamed."""
    state = list_state(request, CONTACT_LIST)
    audit_record(
        actor=request.user, action="csv_export", target="contacts", detail={"query": request.GET.urlencode()}
    )
    return contacts_csv(_contacts(state, request.user), filename=_csv_name())


def owner_from_post(request: HttpRequest):
    """The owner a bulk "assign owner" asks for: a user who can own records, or None for "nobody"."""
    value = request.POST.get("owner", "")
    if value == "none":
        return None
    owner = selectors.owner_choices().filter(pk=value).first() if is_id(value) else None
    if owner is None:
        raise ValidationError("Pick the new owner.")
    return owner


@require_POST
@permission_required("contacts.view_contact", raise_exception=True)
def contact_bulk(request: HttpRequest) -> HttpResponse:
    """One bulk action on the selected contacts, then back to the list (the export is a download)."""
    spec = CONTACT_LIST
    back = bulk_back_url(request, spec)
    try:
        action = bulk_action(request, spec, request.user)
        ids = bulk_ids(request, spec)
        if action == "export":
            audit_record(
                actor=request.user, action="csv_export", target="contacts", detail={"selected": len(ids)}
            )
            return contacts_csv(
                selectors.contact_list().filter(pk__in=ids), filename=_csv_name("contacts-selected")
            )
        if action == "delete":
            return _bulk_delete(request, ids, back)
        changes = {
            "owner": lambda: {"owner": owner_from_post(request)},
            "tags_add": lambda: {"tags_add": bulk_tag_names(request, "tags_add")},
            "tags_remove": lambda: {"tags_remove": bulk_tag_names(request, "tags_remove")},
            "lifecycle": lambda: {"lifecycle_stage": request.POST.get("lifecycle_stage", "") or UNSET},
        }[action]()
        if changes.get("lifecycle_stage") is UNSET:
            raise ValidationError("Pick the lifecycle stage.")
        count = services.contact_bulk_update(user=request.user, contact_ids=ids, **changes)
    except ValidationError as error:
        messages.error(request, f"Nothing was changed: {error_text(error)}")
        return redirect(back)
    messages.success(request, f"Updated {count} contact{'s' if count != 1 else ''}.")
    return redirect(back)


def _bulk_delete(request: HttpRequest, ids: list[int], back: str) -> HttpResponse:
    if request.POST.get("confirm") != "yes":
        records = list(Contact.objects.filter(pk__in=ids).order_by("last_name", "first_name", "id"))
        return render(
            request,
            "lists/confirm_delete.html",
            {
                "spec": CONTACT_LIST,
                "records": records,
                "back_url": back,
                "querystring": request.POST.get("querystring", ""),
                "consequence": "Their activities, tasks and loyalty ledgers go with them; "
                "contacts with support tickets are kept.",
            },
        )
    deleted, kept = services.contact_bulk_delete(user=request.user, contact_ids=ids)
    messages.success(request, f"Deleted {deleted} contact{'s' if deleted != 1 else ''}.")
    if kept:
        names = ", ".join(contact.full_name for contact in kept[:10]) + ("…" if len(kept) > 10 else "")
        messages.warning(
            request,
            f"Kept {len(kept)} contact{'s' if len(kept) != 1 else ''} with support tickets "
            f"(close and delete the tickets first): {names}.",
        )
    return redirect(back)
