"""Search endpoints of the ticket and agent pickers (JSON, at most 20 matches)."""

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from common.pickers import picker_option, picker_query, picker_response, user_options

from . import selectors


def ticket_sub(ticket) -> str:
    contact = ticket.contact
    return " · ".join(filter(None, [contact.full_name, contact.email, ticket.get_status_display()]))


@require_GET
@permission_required("tickets.view_ticket", raise_exception=True)
def ticket_pick(request: HttpRequest) -> JsonResponse:
    tickets = selectors.ticket_search(query=picker_query(request))
    return picker_response(picker_option(t.pk, f"{t.reference} {t.subject}", ticket_sub(t)) for t in tickets)


@require_GET
@permission_required("tickets.view_ticket", raise_exception=True)
def agent_pick(request: HttpRequest) -> JsonResponse:
    """Users who can work tickets (assignees)."""
    return picker_response(user_options(selectors.agent_list(), picker_query(request)))
