"""Reports of the CRM core."""

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import selectors


@require_GET
@permission_required("contacts.view_contact", raise_exception=True)
def lifecycle_report(request: HttpRequest) -> HttpResponse:
    return render(request, "contacts/lifecycle_report.html", {"report": selectors.lifecycle_report()})
