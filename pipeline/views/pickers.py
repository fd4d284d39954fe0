"""Search endpoints of the deal and deal-owner pickers (JSON, at most 20 matches)."""

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from common.pickers import picker_option, picker_query, picker_response, user_options

from .. import selectors
from ..templatetags.pipeline_tags import money
from .permissions import VIEW


def deal_sub(deal) -> str:
    """Stage, customer and amount: enough to tell two deals of the same title apart."""
    customer = deal.company.name if deal.company_id else (deal.contact.full_name if deal.contact_id else "")
    return " · ".join(filter(None, [deal.stage.name, customer, f"{deal.currency} {money(deal.amount, 0)}"]))


@require_GET
@permission_required(VIEW, raise_exception=True)
def deal_pick(request: HttpRequest) -> JsonResponse:
    deals = selectors.deal_search(query=picker_query(request))
    return picker_response(picker_option(d.pk, d.title, deal_sub(d)) for d in deals)


@require_GET
@permission_required(VIEW, raise_exception=True)
def owner_pick(request: HttpRequest) -> JsonResponse:
    """Users who can own deals."""
    return picker_response(user_options(selectors.owner_choices(), picker_query(request)))
