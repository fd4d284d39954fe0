"""Reads of the pipeline for pages, the API and search: a fixed number of queries whatever the data size.

One module per page family; callers use `pipeline.selectors.<name>`.
"""

from .board import (
    BOARD_PAGE,
    CLOSED_RECENT,
    BoardColumn,
    ColumnTotals,
    MoneyTotal,
    board_cards,
    board_columns,
    board_deal_count,
    board_heads,
    board_totals,
)
from .common import (
    CENT,
    ZERO,
    deal_filter,
    deal_queryset,
    month_add,
    month_end,
    month_parse,
    owner_choices,
    pipeline_list,
    pipeline_pick,
    stage_list,
)
from .currency import Rates, base_currency, rates_on
from .deals import (
    LIST_SORTS,
    deal_activities,
    deal_detail,
    deal_list,
    deal_list_for_company,
    deal_list_for_contact,
    deal_search,
    deal_stage_history,
    deal_tasks,
)
from .forecast import (
    COMMITTED_MIN_PROBABILITY,
    FORECAST_MONTHS,
    Figures,
    Forecast,
    ForecastPeriod,
    forecast_build,
)
from .reports import StageRow, WinRateRow, deals_by_stage, win_rates

__all__ = [
    "BOARD_PAGE", "CENT", "CLOSED_RECENT", "COMMITTED_MIN_PROBABILITY", "FORECAST_MONTHS", "LIST_SORTS", "ZERO",
    "BoardColumn", "ColumnTotals", "Figures", "Forecast", "ForecastPeriod", "MoneyTotal", "Rates", "StageRow",
    "WinRateRow", "base_currency", "board_cards", "board_columns", "board_deal_count", "board_heads",
    "board_totals", "rates_on",
    "deal_activities", "deal_detail", "deal_filter", "deal_list", "deal_list_for_company", "deal_list_for_contact",
    "deal_queryset", "deal_search", "deal_stage_history", "deal_tasks", "deals_by_stage", "forecast_build",
    "month_add", "month_end", "month_parse", "owner_choices", "pipeline_list", "pipeline_pick", "stage_list",
    "win_rates",
]  # fmt: skip
