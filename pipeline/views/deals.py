"""The deals list: filters, columns, saved views, pages, CSV export and bulk actions."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from common.csv import csv_response
from common.htmx import error_text
from common.params import id_param, is_id
from common.pickers import filter_picker, user_current
from common.security.audit import audit_record
from contacts.lists.bulk import bulk_action, bulk_back_url, bulk_ids
from contacts.lists.registry import BulkAction, Column, ListSpec, list_register
from contacts.lists.state import ListState, list_state
from contacts.lists.views import list_context, list_page

from .. import selectors, services
from ..models import Deal, Stage
from .permissions import CHANGE, VIEW

CELLS = "pipeline/partials/deal_cells.html"

DEAL_LIST = list_register(
    ListSpec(
        key="deals",
        view_permission=VIEW,
        noun="deal",
        noun_plural="deals",
        url_name="pipeline:deal_list",
        bulk_url_name="pipeline:deal_bulk",
        results_id="deal-table",
        filter_form_id="list-filters",
        filters=("pipeline", "stage", "status", "owner", "month", "q"),
        default_sort="close",
        columns=[
            Column("title", "Deal", f"{CELLS}#title", sort="title", required=True),
            Column("company", "Company", f"{CELLS}#company", sort="company"),
            Column("stage", "Stage", f"{CELLS}#stage", sort="stage"),
            Column("amount", "Amount", f"{CELLS}#amount", sort="amount", css="text-end text-nowrap"),
            Column("close", "Close date", f"{CELLS}#close", sort="close", css="text-nowrap"),
            Column("owner", "Owner", f"{CELLS}#owner", sort="owner"),
            Column("updated", "Updated", f"{CELLS}#updated", sort="updated", css="small text-nowrap"),
            Column("contact", "Contact", f"{CELLS}#contact", default=False),
            Column("probability", "Probability", f"{CELLS}#probability", default=False, css="text-end"),
            Column("weighted", "Weighted", f"{CELLS}#weighted", default=False, css="text-end text-nowrap"),
            Column("next_step", "Next step", f"{CELLS}#next-step", default=False, css="small"),
            Column("pipeline", "Pipeline", f"{CELLS}#pipeline", default=False, css="small"),
        ],
        bulk_actions=[
            BulkAction("owner", "Assign owner", CHANGE, icon="person-check", inputs=f"{CELLS}#bulk-owner"),
            BulkAction("stage", "Move to stage", CHANGE, icon="signpost-split", inputs=f"{CELLS}#bulk-stage"),
            BulkAction("export", "Export", VIEW, icon="download"),
            BulkAction("delete", "Delete", "pipeline.delete_deal", icon="trash", danger=True),
        ],
        empty=f"{CELLS}#empty",
        card=f"{CELLS}#card",
    )
)


def _scope(state: ListState):
    """The pipeline the list shows (None: all of them) and its stages."""
    pipelines = selectors.pipeline_list()
    pipeline = selectors.pipeline_pick(pipelines=pipelines, pipeline_id=state.filters["pipeline"])
    if state.filters["pipeline"] == "all":
        pipeline = None
    return pipelines, pipeline, selectors.stage_list(pipeline=pipeline) if pipeline else []


def _deals(state: ListState, pipeline, stages):
    f = state.filters
    return selectors.deal_list(
        sort=state.sort,
        pipeline=pipeline,
        stage_id=f["stage"] if any(str(stage.pk) == f["stage"] for stage in stages) else None,
        status=f["status"],
        owner_id="none" if f["owner"] == "none" else id_param(f["owner"]),
        close_month=selectors.month_parse(f["month"]),
        query=f["q"],
    )


@permission_required(VIEW, raise_exception=True)
@require_GET
def deal_list(request: HttpRequest) -> HttpResponse:
    state = list_state(request, DEAL_LIST)
    pipelines, pipeline, stages = _scope(state)
    deals = _deals(state, pipeline, stages)
    if request.GET.get("format") == "csv":
        audit_record(
            actor=request.user, action="csv_export", target="deals", detail={"query": request.GET.urlencode()}
        )
        return deals_csv(deals, filename=f"deals-{timezone.localdate():%Y%m%d}.csv")
    page_obj = list_page(deals, state)
    context = list_context(request, state, page_obj) | {
        "deals": page_obj.object_list,
        "pipeline": pipeline,
        "stages": stages,
        "table_actions": f"{CELLS}#export",
        "csv_querystring": state.querystring(saved=None, format="csv"),
        "bulk_owner_picker": filter_picker(
            name="owner", url_name="pipeline:owner_pick", empty="Pick an owner…",
            statics=(("none", "Nobody"),), element_id="bulk-owner",
        ),
    }  # fmt: skip
    if request.htmx and request.htmx.target == DEAL_LIST.results_id:
        return render(request, "lists/results.html", context)
    owner = state.filters["owner"]
    context |= {
        "filters": state.filters,
        "pipelines": pipelines,
        "statuses": Stage.Kind.choices,
        "owner_picker": filter_picker(
            name="owner",
            url_name="pipeline:owner_pick",
            empty="Everyone",
            value=owner,
            current=user_current(selectors.owner_choices(), owner),
            statics=(("none", "Unassigned"),),
            element_id="list-owner",
        ),
    }
    return render(request, "pipeline/deal_list.html", context)


CSV_HEADER = [
    "id", "title", "pipeline", "stage", "status", "probability", "amount", "currency", "weighted",
    "expected_close_date", "owner", "company", "contact", "next_step", "lost_reason", "closed_at", "created_at",
]  # fmt: skip


def deals_csv(deals, *, filename: str) -> HttpResponse:
    rows = (
        (
            deal.pk,
            deal.title,
            deal.pipeline.name,
            deal.stage.name,
            deal.stage.kind,
            deal.stage.probability,
            deal.amount,
            deal.currency,
            deal.weighted_amount,
            deal.expected_close_date or "",
            deal.owner.get_username() if deal.owner else "",
            deal.company.name if deal.company else "",
            deal.contact.full_name if deal.contact else "",
            deal.next_step,
            deal.lost_reason,
            deal.closed_at.isoformat() if deal.closed_at else "",
            deal.created_at.isoformat(),
        )  # fmt: skip
        for deal in deals.iterator(chunk_size=500)
    )
    return csv_response(filename=filename, header=CSV_HEADER, rows=rows)


def _owner(request: HttpRequest):
    value = request.POST.get("owner", "")
    if value == "none":
        return None
    owner = selectors.owner_choices().filter(pk=value).first() if is_id(value) else None
    if owner is None:
        raise ValidationError("Pick the new owner.")
    return owner


def _stage(request: HttpRequest) -> Stage:
    value = request.POST.get("stage", "")
    stage = Stage.objects.select_related("pipeline").filter(pk=value).first() if is_id(value) else None
    if stage is None:
        raise ValidationError("Pick the stage to move the deals to.")
    return stage


@permission_required(VIEW, raise_exception=True)
@require_POST
def deal_bulk(request: HttpRequest) -> HttpResponse:
    spec = DEAL_LIST
    back = bulk_back_url(request, spec)
    try:
        action = bulk_action(request, spec, request.user)
        ids = bulk_ids(request, spec)
        if action == "export":
            stamp = f"{timezone.localdate():%Y%m%d}"
            audit_record(
                actor=request.user, action="csv_export", target="deals", detail={"selected": len(ids)}
            )
            return deals_csv(
                selectors.deal_queryset().filter(pk__in=ids), filename=f"deals-selected-{stamp}.csv"
            )
        if action == "delete":
            if request.POST.get("confirm") != "yes":
                return render(
                    request,
                    "lists/confirm_delete.html",
                    {
                        "spec": spec,
                        "records": list(Deal.objects.filter(pk__in=ids).order_by("title", "id")),
                        "back_url": back,
                        "querystring": request.POST.get("querystring", ""),
                        "consequence": "Their stage history goes with them.",
                    },
                )
            deleted = services.deal_bulk_delete(user=request.user, deal_ids=ids)
            messages.success(request, f"Deleted {deleted} deal{'s' if deleted != 1 else ''}.")
            return redirect(back)
        if action == "owner":
            count = services.deal_bulk_assign(user=request.user, deal_ids=ids, owner=_owner(request))
            messages.success(request, f"Updated {count} deal{'s' if count != 1 else ''}.")
        else:
            stage = _stage(request)
            count = services.deal_bulk_move(
                user=request.user, deal_ids=ids, stage=stage, lost_reason=request.POST.get("lost_reason", "")
            )
            messages.success(request, f"Moved {count} deal{'s' if count != 1 else ''} to {stage.name}.")
    except ValidationError as error:
        messages.error(request, f"Nothing was changed: {error_text(error)}")
    return redirect(back)
