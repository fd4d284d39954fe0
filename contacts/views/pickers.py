"""Search endpoints of the type-ahead pickers: contacts, companies and record owners (JSON, <= 20)."""

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from common.pickers import picker_option, picker_query, picker_response, user_options

from .. import search, selectors


def contact_sub(contact) -> str:
    """The second line of a contact option: e-mail and company tell namesakes apart."""
    return " · ".join(filter(None, [contact.email, contact.company.name if contact.company_id else ""]))


def company_sub(company) -> str:
    return company.domain or company.industry


@require_GET
@permission_required("contacts.view_contact", raise_exception=True)
def contact_pick(request: HttpRequest) -> JsonResponse:
    contacts = search.contact_search(query=picker_query(request))
    return picker_response(picker_option(c.pk, c.full_name, contact_sub(c)) for c in contacts)


@require_GET
@permission_required("contacts.view_company", raise_exception=True)
def company_pick(request: HttpRequest) -> JsonResponse:
    companies = search.company_search(query=picker_query(request))
    return picker_response(picker_option(c.pk, c.name, company_sub(c)) for c in companies)


@require_GET
@permission_required("contacts.view_contact", raise_exception=True)
def owner_pick(request: HttpRequest) -> JsonResponse:
    """Users who can own contacts and companies."""
    return picker_response(user_options(selectors.owner_choices(), picker_query(request)))
