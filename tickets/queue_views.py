"""The ticket queue: views, filters, columns, saved views, pages, cards on phones, CSV and bulk actions."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from common.csv import csv_response
from common.htmx import error_text
from common.params import is_id
from common.pickers import filter_picker
from contacts.lists.bulk import bulk_action, bulk_back_url, bulk_ids, bulk_tag_names
from contacts.lists.registry import BulkAction, Column, ListSpec, list_register
from contacts.lists.state import list_state
from contacts.lists.views import list_context, list_page

from . import bulk, selectors, services
from .forms import QueueFilterForm
from .models import Status, Ticket

CELLS = "tickets/partials/ticket_cells.html"
CHANGE = "tickets.change_ticket"

TICKET_LIST = list_register(
    ListSpec(
        key="tickets",
        view_permission="tickets.view_ticket",
        noun="ticket",
        noun_plural="tickets",
        url_name="tickets:queue",
        bulk_url_name="tickets:queue_bulk",
        results_id="queue-results",
        filter_form_id="queue-filters",
        filters=("view", "status", "priority", "team", "channel", "tag", "q"),
        default_sort="due",
        columns=[
            Column("ticket", "Ticket", f"{CELLS}#ticket", sort="created", required=True),
            Column("customer", "Customer", f"{CELLS}#customer"),
            Column("status", "Status", f"{CELLS}#status"),
            Column("priority", "Priority", f"{CELLS}#priority"),
            Column("sla", "SLA", f"{CELLS}#sla", sort="due"),
            Column("assignee", "Assignee", f"{CELLS}#assignee"),
            Column("team", "Team", f"{CELLS}#team"),
            Column(
                "updated", "Updated", f"{CELLS}#updated", sort="updated", css="small text-muted text-nowrap"
            ),
            Column("channel", "Channel", f"{CELLS}#channel", default=False, css="small"),
            Column("tags", "Tags", f"{CELLS}#tags", default=False),
            Column("created", "Created", f"{CELLS}#created", default=False, css="small text-nowrap"),
        ],
        bulk_actions=[
            BulkAction("assignee", "Assign", CHANGE, icon="person-check", inputs=f"{CELLS}#bulk-assignee"),
            BulkAction("status", "Set status", CHANGE, icon="flag", inputs=f"{CELLS}#bulk-status"),
            BulkAction("tags_add", "Add tags", CHANGE, icon="tag", inputs=f"{CELLS}#bulk-tags-add"),
            BulkAction("tags_remove", "Remove tags", CHANGE, icon="tag", inputs=f"{CELLS}#bulk-tags-remove"),
            BulkAction("export", "Export", "tickets.view_ticket", icon="download"),
            BulkAction("delete", "Delete", "tickets.delete_ticket", icon="trash", danger=True),
        ],
        per_page=50,
        empty=f"{CELLS}#empty",
        card=f"{CELLS}#card",
    )
)


def _filter_form(state) -> QueueFilterForm:
    data = QueryDict(mutable=True)
    data.update({key: value for key, value in state.filters.items() if value})
    return QueueFilterForm(data)


@require_GET
@permission_required("tickets.view_ticket", raise_exception=True)
def queue(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    state = list_state(request, TICKET_LIST)
    form = _filter_form(state)
    values = form.values() | {"sort": state.sort}
    tickets = selectors.ticket_queue(user=request.user, now=now, **values)
    page_obj = list_page(tickets, state)
    context = list_context(request, state, page_obj) | {
        "form": form,
        "values": values,
        "now": now,
        "views": selectors.QUEUE_VIEWS,
        "counts": selectors.ticket_queue_counts(user=request.user, now=now),
        "querystring_without_view": state.querystring(view=None, page=None),
        "can_edit": request.user.has_perm(CHANGE),
        "statuses": [(value, label) for value, label in Status.choices if value != Status.NEW],
        "at_risk_minutes": settings.TICKETS_SLA_AT_RISK_MINUTES,
        "bulk_assignee_picker": filter_picker(
            name="assignee", url_name="tickets:agent_pick", empty="Pick an agent…",
            statics=(("none", "Nobody (unassign)"),), element_id="bulk-assignee",
        ),
        "active_filters": sum(1 for key, value in state.filters.items() if value and key not in ("view",)),
    }  # fmt: skip
    template = "tickets/partials/_queue_results.html" if request.htmx else "tickets/queue.html"
    return render(request, template, context)


CSV_HEADER = [
    "id", "subject", "status", "priority", "channel", "customer", "email", "company", "assignee", "team",
    "tags", "created_at", "updated_at", "first_response_due_at", "resolution_due_at", "solved_at",
]  # fmt: skip


def _iso(value) -> str:
    return value.isoformat() if value else ""


def tickets_csv(tickets, *, filename: str) -> HttpResponse:
    rows = (
        (
            t.pk,
            t.subject,
            t.status,
            t.priority,
            t.channel,
            t.contact.full_name,
            t.contact.email,
            t.company.name if t.company else "",
            t.assignee.get_username() if t.assignee else "",
            t.team.name if t.team else "",
            ";".join(tag.name for tag in t.tags.all()),
            _iso(t.created_at),
            _iso(t.updated_at),
            _iso(t.first_response_due_at),
            _iso(t.resolution_due_at),
            _iso(t.solved_at),
        )  # fmt: skip
        for t in tickets.iterator(chunk_size=500)
    )
    return csv_response(filename=filename, header=CSV_HEADER, rows=rows)


def _assignee(request: HttpRequest):
    value = request.POST.get("assignee", "")
    if value == "none":
        return None
    agent = selectors.agent_list().filter(pk=value).first() if is_id(value) else None
    if agent is None:
        raise ValidationError("Pick an agent.")
    return agent


@require_POST
@permission_required("tickets.view_ticket", raise_exception=True)
def queue_bulk(request: HttpRequest) -> HttpResponse:
    spec = TICKET_LIST
    back = bulk_back_url(request, spec)
    try:
        action = bulk_action(request, spec, request.user)
        ids = bulk_ids(request, spec)
        if action == "export":
            queryset = Ticket.objects.filter(pk__in=ids).select_related(
                "contact", "company", "assignee", "team"
            )
            stamp = f"{timezone.localdate():%Y%m%d}"
            return tickets_csv(
                queryset.prefetch_related("tags").order_by("pk"), filename=f"tickets-{stamp}.csv"
            )
        if action == "delete":
            if request.POST.get("confirm") != "yes":
                return render(
                    request,
                    "lists/confirm_delete.html",
                    {
                        "spec": spec,
                        "records": list(Ticket.objects.filter(pk__in=ids).order_by("pk")),
                        "back_url": back,
                        "querystring": request.POST.get("querystring", ""),
                        "consequence": "Their conversations and history go with them.",
                    },
                )
            deleted = bulk.ticket_bulk_delete(user=request.user, ticket_ids=ids)
            messages.success(request, f"Deleted {deleted} ticket{'s' if deleted != 1 else ''}.")
            return redirect(back)
        if action == "assignee":
            count = services.ticket_bulk_update(
                user=request.user, ticket_ids=ids, assignee=_assignee(request)
            )
        elif action == "status":
            status = request.POST.get("status", "")
            if status not in Status.values or status == Status.NEW:
                raise ValidationError("Pick the new status.")
            count = services.ticket_bulk_update(user=request.user, ticket_ids=ids, status=status)
        elif action == "tags_add":
            count = bulk.ticket_bulk_tags(
                user=request.user, ticket_ids=ids, add=bulk_tag_names(request, "tags_add")
            )
        else:
            names = bulk_tag_names(request, "tags_remove")
            count = bulk.ticket_bulk_tags(user=request.user, ticket_ids=ids, remove=names)
    except ValidationError as error:
        messages.error(request, f"Nothing was changed: {error_text(error)}")
        return redirect(back)
    messages.success(request, f"Updated {count} ticket{'s' if count != 1 else ''}.")
    return redirect(back)
