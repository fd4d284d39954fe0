"""Pipeline reports: the forecast (with CSV) and win rates."""

import datetime
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from common.csv import csv_response
from common.params import is_id
from common.security.audit import audit_record

from .. import selectors
from ..currencies import CURRENCY_CHOICES, CURRENCY_CODES
from .permissions import VIEW


def _currency(request: HttpRequest) -> str | None:
    """One currency asked for, or None: every deal, converted into the company currency."""
    value = request.GET.get("currency", "")
    return value if value in CURRENCY_CODES else None


@permission_required(VIEW, raise_exception=True)
@require_GET
def forecast(request: HttpRequest) -> HttpResponse:
    pipelines = selectors.pipeline_list()
    pipeline = (
        None
        if request.GET.get("pipeline") in (None, "", "all")
        else selectors.pipeline_pick(pipelines=pipelines, pipeline_id=request.GET.get("pipeline"))
    )
    currency = _currency(request)
    by = "quarter" if request.GET.get("by") == "quarter" else "month"
    owner = request.GET.get("owner", "")
    result = selectors.forecast_build(
        pipeline=pipeline, owner_id=owner if is_id(owner) else None, currency=currency
    )
    periods = result.periods(by)
    if request.GET.get("format") == "csv":
        audit_record(
            actor=request.user,
            action="csv_export",
            target="forecast",
            detail={"query": request.GET.urlencode()},
        )
        return _forecast_csv(result, periods, by)
    chart = {
        "labels": [p.label for p in periods],
        "weighted": [float(p.total.weighted) for p in periods],
        "committed": [float(p.total.committed) for p in periods],
        "best_case": [float(p.total.best_case) for p in periods],
        "won": [float(p.total.won) for p in periods],
        "currency": result.currency,
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
        "currencies": CURRENCY_CHOICES,
        "chart": chart,
        "csv_querystring": urlencode({**params.dict(), "format": "csv"}),
        "committed_min": selectors.COMMITTED_MIN_PROBABILITY,
    }
    return render(request, "pipeline/forecast.html", context)


def _forecast_csv(result, periods, by: str) -> HttpResponse:
    def rows():
        for period in periods:
            for owner, figures in result.owner_rows(period):
                name = (owner.get_full_name() or owner.get_username()) if owner else "Unassigned"
                yield [period.label, name, result.currency, figures.weighted, figures.best_case,
                       figures.committed, figures.won]  # fmt: skip
            total = period.total
            yield [period.label, "Total", result.currency, total.weighted, total.best_case, total.committed,
                   total.won]  # fmt: skip

    return csv_response(
        filename=f"forecast-{by}-{result.today:%Y%m%d}.csv",
        header=["period", "owner", "currency", "weighted", "best_case", "committed", "closed_won"],
        rows=rows(),
    )


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
    currency = _currency(request)
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
        "shown_currency": currency or selectors.base_currency(),
        "currencies": CURRENCY_CHOICES,
        "days": days,
        "periods": WIN_RATE_PERIODS.items(),
    }
    return render(request, "pipeline/win_rates.html", context)
