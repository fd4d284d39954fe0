"""The deals list (filters, sort, pages) and its CSV export."""

import csv
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .. import selectors
from ..models import Stage
from .board import board_filters
from .permissions import VIEW

LIST_PAGE_SIZE = 25


CSV_HEADER = [
    "id", "title", "pipeline", "stage", "status", "probability", "amount", "currency", "weighted",
    "expected_close_date",
    "owner", "company", "contact", "next_step", "lost_reason", "closed_at", "created_at",
]  # fmt: skip


class _Echo:
    def write(self, value):
        return value


def _deals_csv(deals, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_HEADER)
        for deal in deals.iterator(chunk_size=500):
            yield writer.writerow(
                [
                    deal.pk, deal.title, deal.pipeline.name, deal.stage.name, deal.stage.kind,
                    deal.stage.probability, deal.amount, deal.currency, deal.weighted_amount,
                    deal.expected_close_date or "", deal.owner.get_username() if deal.owner else "",
                    deal.company.name if deal.company else "", deal.contact.full_name if deal.contact else "",
                    deal.next_step, deal.lost_reason, deal.closed_at.isoformat() if deal.closed_at else "",
                    deal.created_at.isoformat(),
                ]
            )  # fmt: skip

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@permission_required(VIEW, raise_exception=True)
@require_GET
def deal_list(request: HttpRequest) -> HttpResponse:
    pipelines = selectors.pipeline_list()
    pipeline = selectors.pipeline_pick(pipelines=pipelines, pipeline_id=request.GET.get("pipeline"))
    if request.GET.get("pipeline") == "all":
        pipeline = None
    sort = request.GET.get("sort", "close")
    stages = selectors.stage_list(pipeline=pipeline) if pipeline else []
    stage_id = request.GET.get("stage", "")
    deals = selectors.deal_list(
        sort=sort,
        pipeline=pipeline,
        stage_id=stage_id if any(str(stage.pk) == stage_id for stage in stages) else None,
        status=request.GET.get("status", ""),
        **board_filters(request.GET),
    )
    if request.GET.get("format") == "csv":
        return _deals_csv(deals, f"deals-{timezone.localdate():%Y%m%d}.csv")
    page_obj = Paginator(deals, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    sort_params = params.copy()
    sort_params.pop("sort", None)
    context = {
        "page_obj": page_obj,
        "deals": page_obj.object_list,
        "pipelines": pipelines,
        "pipeline": pipeline,
        "stages": stages,
        "owners": selectors.owner_choices(),
        "filters": request.GET,
        "sort": sort,
        "querystring_without_page": params.urlencode(),
        "querystring_without_sort": sort_params.urlencode(),
        "csv_querystring": urlencode({**params.dict(), "format": "csv"}),
        "statuses": Stage.Kind.choices,
    }
    template = (
        "pipeline/partials/_deal_table.html"
        if request.htmx.target == "deal-table"
        else "pipeline/deal_list.html"
    )
    return render(request, template, context)
