"""Deal pages: board, list, detail (inline edit, history, activities, tasks), new deal and forecast."""

import csv
import datetime
import json
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts import services as contact_services
from contacts.models import Company, Contact, Task

from . import selectors, services
from .forms import ActivityForm, DealCreateForm, DealFieldsForm, MoveForm, QuickCreateForm, TaskForm
from .models import Currency, Deal, Stage

VIEW = "pipeline.view_deal"
CHANGE = "pipeline.change_deal"
ADD = "pipeline.add_deal"
LIST_PAGE_SIZE = 25


def _error_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(message for messages_ in exc.message_dict.values() for message in messages_)
    return " ".join(exc.messages)


def _refused(message: str, status: int = 400) -> HttpResponse:
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    plain = message.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"}))
    response["X-Error-Message"] = plain.encode("latin-1", "replace").decode("latin-1")
    return response


def _toast(response: HttpResponse, message: str, kind: str = "success") -> HttpResponse:
    response["HX-Trigger"] = json.dumps({"toast": {"message": message, "kind": kind}})
    return response


def _board_filters(data) -> dict:
    return {
        "owner_id": data.get("owner") or None,
        "close_month": selectors.month_parse(data.get("month")),
        "query": (data.get("q") or "").strip(),
    }


# --- board --------------------------------------------------------------------------------------------


@permission_required(VIEW, raise_exception=True)
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    pipelines = selectors.pipeline_list()
    pipeline = selectors.pipeline_pick(pipelines=pipelines, pipeline_id=request.GET.get("pipeline"))
    filters = _board_filters(request.GET)
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
        return _refused("Pick a stage to move the deal to.")
    from_stage = deal.stage
    to_stage = form.cleaned_data["stage"]
    try:
        services.deal_move(
            deal=deal, stage=to_stage, user=request.user, lost_reason=form.cleaned_data["lost_reason"]
        )
    except ValidationError as exc:
        return _refused(_error_text(exc))
    filters = _board_filters(request.POST)
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
    return _toast(response, f"“{deal.title}” moved to {to_stage.name}.")


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
            return _refused(_error_text(exc))
        deal = selectors.deal_detail(pk=deal.pk)
        context["form"] = QuickCreateForm(prefix=f"quick{stage.pk}", initial={"currency": data["currency"]})
        context["created"] = deal
        filters = _board_filters(request.POST)
        columns = selectors.board_columns(pipeline=stage.pipeline, **filters)
        context["column"] = next(column for column in columns if column.stage.pk == stage.pk)
        context["deal_count"] = sum(column.count for column in columns)
        context["pipeline"] = stage.pipeline
        context["filters"] = request.POST
        response = render(request, "pipeline/partials/_quick_create.html", context)
        return _toast(response, f"Deal “{deal.title}” created.")
    return render(request, "pipeline/partials/_quick_create.html", context)


# --- list ---------------------------------------------------------------------------------------------


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
        **_board_filters(request.GET),
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


# --- detail -------------------------------------------------------------------------------------------


def _detail_context(request: HttpRequest, deal: Deal) -> dict:
    return {
        "deal": deal,
        "stages": selectors.stage_list(pipeline=deal.pipeline),
        "history": selectors.deal_stage_history(deal=deal),
        "activities": selectors.deal_activities(deal=deal),
        "tasks": selectors.deal_tasks(deal=deal),
        "activity_form": ActivityForm(),
        "task_form": TaskForm(initial={"assignee": deal.owner_id}),
    }


@permission_required(VIEW, raise_exception=True)
@require_GET
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    return render(request, "pipeline/deal_detail.html", _detail_context(request, deal))


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Inline edit of the deal's fields: GET the form partial, POST saves and answers the read-only card."""
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    if request.method == "GET":
        form = DealFieldsForm(instance=deal)
        template = "pipeline/partials/_deal_fields_form.html" if request.htmx else "pipeline/deal_edit.html"
        return render(request, template, {"deal": deal, "form": form})
    form = DealFieldsForm(request.POST, instance=deal)
    if form.is_valid():
        try:
            services.deal_update(deal=deal, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            deal = selectors.deal_detail(pk=deal.pk)
            if not request.htmx:
                messages.success(request, "Deal saved.")
                return redirect(deal)
            response = render(
                request, "pipeline/partials/_deal_fields.html", {"deal": deal, "oob_title": True}
            )
            return _toast(response, "Deal saved.")
    deal.refresh_from_db()
    template = "pipeline/partials/_deal_fields_form.html" if request.htmx else "pipeline/deal_edit.html"
    return render(request, template, {"deal": deal, "form": form})


@permission_required(VIEW, raise_exception=True)
@require_GET
def deal_fields(request: HttpRequest, pk: int) -> HttpResponse:
    """The read-only fields card (the inline edit's Cancel)."""
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    return render(request, "pipeline/partials/_deal_fields.html", {"deal": deal})


@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_stage_set(request: HttpRequest, pk: int) -> HttpResponse:
    """Stage change from the deal page (same service as the board): answers the stage card with history."""
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    form = MoveForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.deal_move(
                deal=deal,
                stage=form.cleaned_data["stage"],
                user=request.user,
                lost_reason=form.cleaned_data["lost_reason"],
            )
        except ValidationError as exc:
            error = _error_text(exc)
    else:
        error = "Pick a stage."
    deal = selectors.deal_detail(pk=deal.pk)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(deal)
    context = {
        "deal": deal,
        "stages": selectors.stage_list(pipeline=deal.pipeline),
        "history": selectors.deal_stage_history(deal=deal),
        "stage_error": error,
        "posted": form.data if error else {},
    }
    response = render(request, "pipeline/partials/_deal_stage.html", context)
    return response if error else _toast(response, f"Moved to {deal.stage.name}.")


@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_delete(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(Deal, pk=pk)
    if not request.user.has_perm("pipeline.delete_deal"):
        return _refused("You don't have permission to delete deals.", status=403)
    title = deal.title
    services.deal_delete(deal=deal, user=request.user)
    messages.success(request, f"Deal “{title}” deleted.")
    return redirect("pipeline:board")


def _back_to_deal(request: HttpRequest, deal: Deal, form, success: str) -> HttpResponse:
    """Without htmx (no JavaScript) a form post lands back on the deal page with a message."""
    if form.is_bound:
        errors = " ".join(str(error) for errors in form.errors.values() for error in errors)
        messages.error(request, errors or "Please check the form.")
    else:
        messages.success(request, success)
    return redirect(deal)


@permission_required("contacts.add_activity", raise_exception=True)
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_activity_create(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    form = ActivityForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            contact_services.activity_create(
                author=request.user,
                kind=data["kind"],
                occurred_at=data["occurred_at"],
                contact=deal.contact,
                company=deal.company,
                deal_id=deal.pk,
                subject=data["subject"],
                body=data["body"],
                direction=data["direction"],
                duration_minutes=data["duration_minutes"],
            )
        except ValidationError as exc:
            form.add_error(None, _error_text(exc))
        else:
            form = ActivityForm()
    if not request.htmx:
        return _back_to_deal(request, deal, form, "Activity logged.")
    context = {"deal": deal, "activities": selectors.deal_activities(deal=deal), "activity_form": form}
    response = render(request, "pipeline/partials/_deal_activities.html", context)
    return response if form.is_bound else _toast(response, "Activity logged.")


@permission_required("contacts.add_task", raise_exception=True)
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_task_create(request: HttpRequest, pk: int) -> HttpResponse:
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    form = TaskForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            contact_services.task_create(
                created_by=request.user,
                title=data["title"],
                due_at=data["due_at"],
                assignee=data["assignee"],
                contact=deal.contact,
                company=deal.company,
                deal_id=deal.pk,
                notes=data["notes"],
            )
        except ValidationError as exc:
            form.add_error(None, _error_text(exc))
        else:
            form = TaskForm(initial={"assignee": deal.owner_id})
    if not request.htmx:
        return _back_to_deal(request, deal, form, "Task added.")
    context = {"deal": deal, "tasks": selectors.deal_tasks(deal=deal), "task_form": form}
    response = render(request, "pipeline/partials/_deal_tasks.html", context)
    return response if form.is_bound else _toast(response, "Task added.")


@permission_required("contacts.change_task", raise_exception=True)
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_task_complete(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    deal = get_object_or_404(selectors.deal_queryset(), pk=pk)
    task = get_object_or_404(Task, pk=task_pk, deal_id=deal.pk)
    contact_services.task_complete(task=task, user=request.user)
    if not request.htmx:
        return redirect(deal)
    context = {"deal": deal, "tasks": selectors.deal_tasks(deal=deal), "task_form": TaskForm()}
    return _toast(render(request, "pipeline/partials/_deal_tasks.html", context), "Task done.")


# --- new deal -----------------------------------------------------------------------------------------


@permission_required(ADD, raise_exception=True)
@require_http_methods(["GET", "POST"])
def deal_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = DealCreateForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                deal = services.deal_create(user=request.user, **data)
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, f"Deal “{deal.title}” created.")
                return redirect(deal)
    else:
        initial = {"owner": request.user.pk, "currency": Currency.USD}
        stage_id = request.GET.get("stage")
        stage = Stage.objects.filter(pk=stage_id).first() if stage_id and stage_id.isdigit() else None
        if stage is None:
            stage = services.pipeline_default().stages.order_by("position", "id").first()
        initial["stage"] = stage.pk if stage else None
        contact_id, company_id = request.GET.get("contact", ""), request.GET.get("company", "")
        if contact_id.isdigit():
            contact = Contact.objects.filter(pk=contact_id).select_related("company").first()
            if contact:
                initial["contact"] = contact.pk
                initial["company"] = contact.company_id
                initial["title"] = (
                    f"{contact.company.name if contact.company else contact.full_name} – new deal"
                )
        if company_id.isdigit():
            company = Company.objects.filter(pk=company_id).first()
            if company:
                initial["company"] = company.pk
                initial.setdefault("title", f"{company.name} – new deal")
        form = DealCreateForm(initial=initial)
    return render(request, "pipeline/deal_form.html", {"form": form})


# --- panels on contact and company pages ----------------------------------------------------------------


@permission_required(VIEW, raise_exception=True)
@require_GET
def contact_deals(request: HttpRequest, contact_pk: int) -> HttpResponse:
    deals = selectors.deal_list_for_contact(contact_id=contact_pk)
    new_url = f"{_new_url()}?{urlencode({'contact': contact_pk})}"
    return render(request, "pipeline/partials/_related_deals.html", {"deals": deals, "new_url": new_url})


@permission_required(VIEW, raise_exception=True)
@require_GET
def company_deals(request: HttpRequest, company_pk: int) -> HttpResponse:
    deals = selectors.deal_list_for_company(company_id=company_pk)
    new_url = f"{_new_url()}?{urlencode({'company': company_pk})}"
    return render(request, "pipeline/partials/_related_deals.html", {"deals": deals, "new_url": new_url})


def _new_url() -> str:
    from django.urls import reverse

    return reverse("pipeline:deal_new")


# --- forecast -----------------------------------------------------------------------------------------


@permission_required(VIEW, raise_exception=True)
@require_GET
def forecast(request: HttpRequest) -> HttpResponse:
    pipelines = selectors.pipeline_list()
    pipeline = (
        None
        if request.GET.get("pipeline") in (None, "", "all")
        else selectors.pipeline_pick(pipelines=pipelines, pipeline_id=request.GET.get("pipeline"))
    )
    currency = request.GET.get("currency") if request.GET.get("currency") in Currency.values else Currency.USD
    by = "quarter" if request.GET.get("by") == "quarter" else "month"
    result = selectors.forecast_build(
        pipeline=pipeline, owner_id=request.GET.get("owner") or None, currency=currency
    )
    periods = result.periods(by)
    if request.GET.get("format") == "csv":
        return _forecast_csv(result, periods, by)
    chart = {
        "labels": [p.label for p in periods],
        "weighted": [float(p.total.weighted) for p in periods],
        "committed": [float(p.total.committed) for p in periods],
        "best_case": [float(p.total.best_case) for p in periods],
        "won": [float(p.total.won) for p in periods],
        "currency": currency,
    }
    params = request.GET.copy()
    context = {
        "forecast": result,
        "periods": [(period, result.owner_rows(period)) for period in periods],
        "by": by,
        "pipelines": pipelines,
        "pipeline": pipeline,
        "owners": selectors.owner_choices(),
        "filters": request.GET,
        "currencies": Currency.choices,
        "chart": chart,
        "csv_querystring": urlencode({**params.dict(), "format": "csv"}),
        "committed_min": selectors.COMMITTED_MIN_PROBABILITY,
    }
    return render(request, "pipeline/forecast.html", context)


def _forecast_csv(result, periods, by: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="forecast-{by}-{result.today:%Y%m%d}.csv"'
    writer = csv.writer(response)
    writer.writerow(["period", "owner", "currency", "weighted", "best_case", "committed", "closed_won"])
    for period in periods:
        for owner, figures in result.owner_rows(period):
            name = (owner.get_full_name() or owner.get_username()) if owner else "Unassigned"
            writer.writerow(
                [period.label, name, result.currency, figures.weighted, figures.best_case, figures.committed,
                 figures.won]
            )  # fmt: skip
        total = period.total
        writer.writerow(
            [
                period.label,
                "Total",
                result.currency,
                total.weighted,
                total.best_case,
                total.committed,
                total.won,
            ]
        )
    return response


@permission_required(ADD, raise_exception=True)
@require_GET
def quick_create_options(request: HttpRequest) -> HttpResponse:
    """The company choices of a quick-create form, loaded when the form opens (not once per column)."""
    companies = Company.objects.order_by("name").values_list("pk", "name")
    return render(request, "pipeline/partials/_company_options.html", {"companies": companies})


WIN_RATE_PERIODS = {"90": "Last 90 days", "180": "Last 6 months", "365": "Last 12 months"}


@permission_required(VIEW, raise_exception=True)
@require_GET
def win_rate_report(request: HttpRequest) -> HttpResponse:
    pipelines = selectors.pipeline_list()
    pipeline_param = request.GET.get("pipeline")
    pipeline = (
        None
        if pipeline_param in (None, "", "all")
        else selectors.pipeline_pick(pipelines=pipelines, pipeline_id=pipeline_param)
    )
    currency = request.GET.get("currency") if request.GET.get("currency") in Currency.values else Currency.USD
    days = request.GET.get("days") if request.GET.get("days") in WIN_RATE_PERIODS else "365"
    since = timezone.now() - datetime.timedelta(days=int(days))
    rows, total = selectors.win_rates(since=since, pipeline=pipeline, currency=currency)
    context = {
        "rows": rows,
        "total": total,
        "stage_rows": selectors.deals_by_stage(pipeline=pipeline, currency=currency),
        "pipelines": pipelines,
        "pipeline": pipeline,
        "currency": currency,
        "currencies": Currency.choices,
        "days": days,
        "periods": WIN_RATE_PERIODS.items(),
    }
    return render(request, "pipeline/win_rates.html", context)
