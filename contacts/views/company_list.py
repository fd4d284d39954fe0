"""The company list: filters (tags too), columns, saved views, pages, CSV export and bulk actions."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from common.csv import csv_response
from common.htmx import error_text
from common.pickers import filter_picker, user_current
from common.security.audit import audit_record

from .. import selectors, services
from ..lists.bulk import bulk_action, bulk_back_url, bulk_ids, bulk_tag_names
from ..lists.registry import BulkAction, Column, ListSpec, list_register
from ..lists.state import ListState, list_state
from ..lists.views import list_context, list_page
from ..models import Company, Tag
from .contact_list import owner_from_post

CELLS = "contacts/partials/company_cells.html"
BULK = "contacts/partials/bulk_inputs.html"

COMPANY_LIST = list_register(
    ListSpec(
        key="companies",
        view_permission="contacts.view_company",
        noun="company",
        noun_plural="companies",
        url_name="contacts:company_list",
        bulk_url_name="contacts:company_bulk",
        results_id="company-table",
        filter_form_id="company-filters",
        filters=("q", "owner", "industry", "tag"),
        default_sort="name",
        columns=[
            Column("name", "Name", f"{CELLS}#name", sort="name", required=True),
            Column("domain", "Domain", f"{CELLS}#domain", sort="domain", css="small"),
            Column("industry", "Industry", f"{CELLS}#industry", sort="industry", css="small"),
            Column("size", "Size", f"{CELLS}#size", css="small"),
            Column("contacts", "Contacts", f"{CELLS}#contacts", sort="contacts", css="text-end"),
            Column("owner", "Owner", f"{CELLS}#owner", sort="owner", css="small"),
            Column("tags", "Tags", f"{CELLS}#tags"),
            Column("updated", "Updated", f"{CELLS}#updated", sort="updated", css="small text-nowrap"),
            Column("phone", "Phone", f"{CELLS}#phone", default=False, css="small text-nowrap"),
        ],
        bulk_actions=[
            BulkAction("owner", "Assign owner", "contacts.change_company", icon="person-check", inputs=f"{BULK}#owner"),
            BulkAction("tags_add", "Add tags", "contacts.change_company", icon="tag", inputs=f"{BULK}#tags-add"),
            BulkAction("tags_remove", "Remove tags", "contacts.change_company", icon="tag", inputs=f"{BULK}#tags-remove"),
            BulkAction("export", "Export", "contacts.view_company", icon="download"),
            BulkAction("delete", "Delete", "contacts.delete_company", icon="trash", danger=True),
        ],
        empty=f"{CELLS}#empty",
        card=f"{CELLS}#card",
    )
)  # fmt: skip


def _companies(state: ListState, user):
    f = state.filters
    return selectors.company_list(
        q=f["q"], owner=f["owner"], industry=f["industry"], tag=f["tag"], sort=state.sort, user=user
    )


@require_GET
@permission_required("contacts.view_company", raise_exception=True)
def company_list(request: HttpRequest) -> HttpResponse:
    state = list_state(request, COMPANY_LIST)
    page_obj = list_page(_companies(state, request.user), state)
    context = list_context(request, state, page_obj) | {
        "companies": page_obj.object_list,
        "table_actions": f"{CELLS}#export",
        "export_qs": state.querystring(saved=None),
        "bulk_owner_picker": filter_picker(
            name="owner", url_name="contacts:owner_pick", empty="Pick an owner…",
            statics=(("none", "Nobody"),), element_id="bulk-owner",
        ),
    }  # fmt: skip
    if request.htmx and request.htmx.target == COMPANY_LIST.results_id:
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
        "industries": selectors.company_industries(),
        "tags": Tag.objects.order_by("name"),
    }
    return render(request, "contacts/company_list.html", context)


CSV_HEADER = [
    "id", "name", "domain", "industry", "size", "phone", "address", "owner", "contacts", "tags",
    "created_at", "updated_at",
]  # fmt: skip


def companies_csv(companies, *, filename: str) -> HttpResponse:
    rows = (
        (
            c.pk,
            c.name,
            c.domain,
            c.industry,
            c.size,
            str(c.phone) if c.phone else "",
            c.address,
            c.owner.username if c.owner else "",
            c.contact_count,
            ";".join(t.name for t in c.tags.all()),
            c.created_at.isoformat(),
            c.updated_at.isoformat(),
        )  # fmt: skip
        for c in companies.iterator(chunk_size=500)
    )
    return csv_response(filename=filename, header=CSV_HEADER, rows=rows)


def _csv_name(prefix: str) -> str:
    return f"{prefix}-{timezone.now():%Y%m%d-%H%M}.csv"


@require_GET
@permission_required("contacts.view_company", raise_exception=True)
def company_export(request: HttpRequest) -> HttpResponse:
    """Every company the list's filters match, streamed."""
    state = list_state(request, COMPANY_LIST)
    audit_record(
        actor=request.user, action="csv_export", target="companies", detail={"query": request.GET.urlencode()}
    )
    return companies_csv(_companies(state, request.user), filename=_csv_name("companies"))


@require_POST
@permission_required("contacts.view_company", raise_exception=True)
def company_bulk(request: HttpRequest) -> HttpResponse:
    spec = COMPANY_LIST
    back = bulk_back_url(request, spec)
    try:
        action = bulk_action(request, spec, request.user)
        ids = bulk_ids(request, spec)
        if action == "export":
            audit_record(
                actor=request.user, action="csv_export", target="companies", detail={"selected": len(ids)}
            )
            return companies_csv(
                selectors.company_list().filter(pk__in=ids), filename=_csv_name("companies-selected")
            )
        if action == "delete":
            if request.POST.get("confirm") != "yes":
                return render(
                    request,
                    "lists/confirm_delete.html",
                    {
                        "spec": spec,
                        "records": list(Company.objects.filter(pk__in=ids).order_by("name", "id")),
                        "back_url": back,
                        "querystring": request.POST.get("querystring", ""),
                        "consequence": "Their contacts are kept, without a company.",
                    },
                )
            deleted = services.company_bulk_delete(user=request.user, company_ids=ids)
            messages.success(request, f"Deleted {deleted} compan{'ies' if deleted != 1 else 'y'}.")
            return redirect(back)
        changes = {
            "owner": lambda: {"owner": owner_from_post(request)},
            "tags_add": lambda: {"tags_add": bulk_tag_names(request, "tags_add")},
            "tags_remove": lambda: {"tags_remove": bulk_tag_names(request, "tags_remove")},
        }[action]()
        count = services.company_bulk_update(user=request.user, company_ids=ids, **changes)
    except ValidationError as error:
        messages.error(request, f"Nothing was changed: {error_text(error)}")
        return redirect(back)
    messages.success(request, f"Updated {count} compan{'ies' if count != 1 else 'y'}.")
    return redirect(back)
