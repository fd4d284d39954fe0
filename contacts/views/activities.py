"""Activity feeds of contacts and companies (keyset "Show older") and logging an activity."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from common.htmx import toast
from common.params import datetime_param, id_param

from .. import selectors, services
from ..forms import ActivityForm
from ..models import Company, Contact
from .helpers import changed, url_to


def feed_context(activities: list, cursor: tuple | None, *, url: str) -> dict:
    more_url = ""
    if cursor is not None:
        more_url = f"{url}?{urlencode({'before_at': cursor[0].isoformat(), 'before_id': cursor[1]})}"
    return {"activities": activities, "feed_more_url": more_url}


def _feed_cursor(request: HttpRequest) -> tuple | None:
    when = datetime_param(request.GET.get("before_at"))
    pk = id_param(request.GET.get("before_id"))
    return (when, pk) if when and pk is not None else None


@require_GET
@permission_required("contacts.view_activity", raise_exception=True)
def contact_activity_feed(request: HttpRequest, pk: int) -> HttpResponse:
    """Older entries of a contact's feed ("Show older"), keyset-paginated."""
    page = selectors.activity_page_for_contact(contact_id=pk, before=_feed_cursor(request))
    context = feed_context(*page, url=url_to("contacts:contact_activity_feed", pk))
    return render(request, "contacts/partials/activities.html#page", context)


@require_GET
@permission_required("contacts.view_activity", raise_exception=True)
def company_activity_feed(request: HttpRequest, pk: int) -> HttpResponse:
    page = selectors.activity_page_for_company(company_id=pk, before=_feed_cursor(request))
    context = feed_context(*page, url=url_to("contacts:company_activity_feed", pk)) | {"show_contact": True}
    return render(request, "contacts/partials/activities.html#page", context)


@require_POST
@permission_required("contacts.add_activity", raise_exception=True)
def contact_activity_create(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    return _activity_create(request, contact=contact, company=None, redirect_to=contact)


@require_POST
@permission_required("contacts.add_activity", raise_exception=True)
def company_activity_create(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=pk)
    return _activity_create(request, contact=None, company=company, redirect_to=company)


def _activity_create(request: HttpRequest, *, contact, company, redirect_to) -> HttpResponse:
    form = ActivityForm(request.POST, auto_id="activity_%s")
    post_url = request.path
    activity = None
    if form.is_valid():
        try:
            activity = services.activity_create(
                author=request.user, contact=contact, company=company, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_service_error(error)
    if not request.htmx:
        if activity:
            messages.success(request, f"{activity.get_kind_display()} logged.")
        else:
            messages.error(
                request,
                "The activity was not logged: "
                + "; ".join(str(m) for errors in form.errors.values() for m in errors),
            )
        return redirect(redirect_to)
    if activity is None:
        return render(
            request,
            "contacts/partials/activities.html#form",
            {"activity_form": form, "activity_post_url": post_url},
        )
    kind = form.cleaned_data["kind"]
    response = render(
        request,
        "contacts/partials/activities.html#created",
        {
            "activity_form": ActivityForm(auto_id="activity_%s", initial={"kind": kind}),
            "activity_post_url": post_url,
            "activity": activity,
            "show_contact": company is not None,
        },
    )
    return changed(toast(response, f"{activity.get_kind_display()} logged."))
