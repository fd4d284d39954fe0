"""The deals panels of the contact and company pages (registered in pipeline/apps.py)."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from .. import selectors
from .permissions import VIEW


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
    return reverse("pipeline:deal_new")
