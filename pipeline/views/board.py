"""The deals board: columns per stage, drag-and-drop moves and quick create."""

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from common.htmx import error_text, refused, toast

from .. import selectors, services
from ..forms import MoveForm, QuickCreateForm
from ..models import Currency, Deal, Stage
from .permissions import ADD, CHANGE, VIEW


def board_filters(data) -> dict:
    return {
        "owner_id": data.get("owner") or None,
        "close_month": selectors.month_parse(data.get("month")),
        "query": (data.get("q") or "").strip(),
    }


@permission_required(VIEW, raise_exception=True)
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    pipelines = selectors.pipeline_list()
    pipeline = selectors.pipeline_pick(pipelines=pipelines, pipeline_id=request.GET.get("pipeline"))
    filters = board_filters(request.GET)
    columns = selectors.board_columns(pipeline=pipeline, **filters) if pipeline else []
    context = {
        "pipelines": pipelines,
        "pipeline": pipeline,
        "columns": columns,
        "owners": selectors.owner_choices(),
        "filters": request.GET,
        "currencies": Currency.choices,
        "deal_count": sum(column.count for column in columns),
        "today": timezone.localdate(),
    }
    template = "pipeline/partials/_board.html" if request.htmx.target == "board" else "pipeline/board.html"
    return render(request, template, context)


@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """The board's drop target: moves the deal, answers the re-rendered card and both column headers."""
    deal = get_object_or_404(Deal.objects.select_related("stage", "pipeline"), pk=pk)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return refused("Pick a stage to move the deal to.")
    from_stage = deal.stage
    to_stage = form.cleaned_data["stage"]
    try:
        services.deal_move(
            deal=deal, stage=to_stage, user=request.user, lost_reason=form.cleaned_data["lost_reason"]
        )
    except ValidationError as exc:
        return refused(error_text(exc))
    filters = board_filters(request.POST)
    deal = selectors.deal_detail(pk=deal.pk)
    html = render_to_string(
        "pipeline/partials/_card.html", {"deal": deal, "today": timezone.localdate()}, request=request
    )
    for stage in {from_stage.pk: from_stage, to_stage.pk: to_stage}.values():
        column = selectors.board_column(stage=stage, **filters)
        html += render_to_string(
            "pipeline/partials/_column_head.html", {"column": column, "oob": True}, request=request
        )
    response = HttpResponse(html)
    return toast(response, f"“{deal.title}” moved to {to_stage.name}.")


@permission_required(ADD, raise_exception=True)
@require_POST
def deal_quick_create(request: HttpRequest, stage_pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=stage_pk)
    form = QuickCreateForm(request.POST, prefix=f"quick{stage.pk}")
    context = {"stage": stage, "form": form, "currencies": Currency.choices, "today": timezone.localdate()}
    if form.is_valid():
        data = form.cleaned_data
        try:
            deal = services.deal_create(
                user=request.user,
                title=data["title"],
                stage=stage,
                amount=data["amount"] or 0,
                currency=data["currency"],
                company=data["company"],
                contact=data["contact"],
            )
        except ValidationError as exc:
            return refused(error_text(exc))
        deal = selectors.deal_detail(pk=deal.pk)
        context["form"] = QuickCreateForm(prefix=f"quick{stage.pk}", initial={"currency": data["currency"]})
        context["created"] = deal
        filters = board_filters(request.POST)
        columns = selectors.board_columns(pipeline=stage.pipeline, **filters)
        context["column"] = next(column for column in columns if column.stage.pk == stage.pk)
        context["deal_count"] = sum(column.count for column in columns)
        context["pipeline"] = stage.pipeline
        context["filters"] = request.POST
        response = render(request, "pipeline/partials/_quick_create.html", context)
        return toast(response, f"Deal “{deal.title}” created.")
    return render(request, "pipeline/partials/_quick_create.html", context)
