"""The deals board: columns per stage that load more cards on scroll, drag-and-drop moves, quick create."""

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from common.htmx import error_text, refused, toast
from common.params import is_id
from common.pickers import filter_picker, user_current

from .. import selectors, services
from ..currencies import CURRENCY_CHOICES
from ..forms import MoveForm, QuickCreateForm
from ..models import Deal, Stage
from .permissions import ADD, CHANGE, VIEW

PARTIALS = "pipeline/partials/board.html"


def board_filters(data) -> dict:
    """The board's filters from a query string or form: owner id or "none", close month, search."""
    owner = (data.get("owner") or "").strip()
    return {
        "owner_id": owner if owner == "none" or is_id(owner) else None,
        "close_month": selectors.month_parse(data.get("month")),
        "query": (data.get("q") or "").replace("\x00", "").strip()[:200],
    }


def quick_currencies(rates) -> list[tuple[str, str]]:
    """The quick-create form offers the company currency and those with a rate (the full list is on /new/)."""
    known = rates.known
    return [(code, label) for code, label in CURRENCY_CHOICES if code in known]


@permission_required(VIEW, raise_exception=True)
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    pipelines = selectors.pipeline_list()
    pipeline = selectors.pipeline_pick(pipelines=pipelines, pipeline_id=request.GET.get("pipeline"))
    filters = board_filters(request.GET)
    rates = selectors.rates_on()
    columns = selectors.board_columns(pipeline=pipeline, rates=rates, **filters) if pipeline else []
    context = {
        "pipelines": pipelines,
        "pipeline": pipeline,
        "columns": columns,
        "filters": request.GET,
        "base_currency": rates.base,
        "currencies": quick_currencies(rates),
        "deal_count": sum(column.count for column in columns),
        "today": timezone.localdate(),
    }
    if request.htmx.target == "board":
        return render(request, f"{PARTIALS}#board", context)
    owner = filters["owner_id"] or ""
    context["owner_picker"] = filter_picker(
        name="owner",
        url_name="pipeline:owner_pick",
        empty="Everyone",
        value=str(owner),
        current=user_current(selectors.owner_choices(), str(owner)),
        statics=(("none", "Unassigned"),),
        element_id="board-owner",
    )
    return render(request, "pipeline/board.html", context)


@permission_required(VIEW, raise_exception=True)
@require_GET
def stage_cards(request: HttpRequest, stage_pk: int) -> HttpResponse:
    """The next page of an open column's cards (the column's end scrolled into view)."""
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=stage_pk)
    deals, cursor = selectors.board_cards(
        stage=stage, after=request.GET.get("after", ""), **board_filters(request.GET)
    )
    context = {"stage": stage, "deals": deals, "next_cursor": cursor, "filters": request.GET}
    return render(request, f"{PARTIALS}#cards", context | {"today": timezone.localdate()})


@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """The board's drop target: moves the deal, answers its card and the heads of the two columns only."""
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
    deal = selectors.deal_detail(pk=deal.pk)
    html = render_to_string(
        f"{PARTIALS}#card", {"deal": deal, "today": timezone.localdate()}, request=request
    )
    stages = list({from_stage.pk: from_stage, to_stage.pk: to_stage}.values())
    for column in selectors.board_heads(stages=stages, **board_filters(request.POST)):
        html += render_to_string(f"{PARTIALS}#column-head", {"column": column, "oob": True}, request=request)
    return toast(HttpResponse(html), f"“{deal.title}” moved to {to_stage.name}.")


@permission_required(ADD, raise_exception=True)
@require_POST
def deal_quick_create(request: HttpRequest, stage_pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=stage_pk)
    rates = selectors.rates_on()
    form = QuickCreateForm(request.POST, prefix=f"quick{stage.pk}")
    context = {
        "stage": stage,
        "form": form,
        "currencies": quick_currencies(rates),
        "base_currency": rates.base,
        "today": timezone.localdate(),
    }
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
        filters = board_filters(request.POST)
        context |= {
            "form": QuickCreateForm(prefix=f"quick{stage.pk}", initial={"currency": data["currency"]}),
            "created": selectors.deal_detail(pk=deal.pk),
            "column": selectors.board_heads(stages=[stage], **filters)[0],
            "deal_count": selectors.board_deal_count(pipeline=stage.pipeline, **filters),
            "pipeline": stage.pipeline,
            "filters": request.POST,
        }
        return toast(render(request, f"{PARTIALS}#quick-create", context), f"Deal “{deal.title}” created.")
    return render(request, f"{PARTIALS}#quick-create", context)
