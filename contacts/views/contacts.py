"""Contact pages: detail, create, edit (full page and inline), delete."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.htmx import toast

from .. import selectors, services
from ..forms import ActivityForm, ContactForm, TaskForm
from ..models import Contact, LoyaltyAccount
from ..panels import contact_panels_for
from .activities import feed_context
from .helpers import changed, url_to
from .loyalty import loyalty_context


def _contact_detail_context(request: HttpRequest, contact: Contact) -> dict:
    account = getattr(contact, "loyalty", None) if _has_loyalty(contact) else None
    return {
        "contact": contact,
        **feed_context(
            *selectors.activity_page_for_contact(contact_id=contact.pk),
            url=url_to("contacts:contact_activity_feed", contact.pk),
        ),
        "activity_form": ActivityForm(auto_id="activity_%s"),
        "activity_post_url": url_to("contacts:contact_activity_create", contact.pk),
        "tasks": selectors.task_list_for_contact(contact_id=contact.pk),
        "task_form": TaskForm(auto_id="task_%s", initial={"assignee": request.user.pk}),
        "task_post_url": url_to("contacts:contact_task_create", contact.pk),
        **loyalty_context(contact, account),
        "panels": contact_panels_for(user=request.user, contact_id=contact.pk),
    }


def _has_loyalty(contact: Contact) -> bool:
    try:
        return contact.loyalty is not None
    except LoyaltyAccount.DoesNotExist:
        return False


@require_GET
@permission_required("contacts.view_contact", raise_exception=True)
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        contact = selectors.contact_get_for_detail(contact_id=pk)
    except Contact.DoesNotExist:
        return render(request, "contacts/not_found.html", {"what": "contact"}, status=404)
    services.contact_mark_viewed(user=request.user, contact=contact)
    return render(request, "contacts/contact_detail.html", _contact_detail_context(request, contact))


@require_GET
@permission_required("contacts.view_contact", raise_exception=True)
def contact_facts(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(selectors.contact_list(), pk=pk)
    return render(request, "contacts/partials/contact_facts.html#view", {"contact": contact})


@require_http_methods(["GET", "POST"])
@permission_required("contacts.add_contact", raise_exception=True)
def contact_create(request: HttpRequest) -> HttpResponse:
    form = ContactForm(request.POST or None, initial={"owner": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(user=request.user, **form.service_fields())
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Contact {contact.full_name} created.")
            return redirect(contact)
    return render(request, "contacts/contact_form.html", {"form": form, "contact": None})


@require_http_methods(["GET", "POST"])
@permission_required("contacts.change_contact", raise_exception=True)
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Full edit page; with htmx the same URL serves the inline edit of the contact header."""
    contact = get_object_or_404(Contact.objects.prefetch_related("tags"), pk=pk)
    inline = bool(request.htmx)
    form = ContactForm(request.POST or None, initial=ContactForm.initial_for(contact), auto_id="facts_%s")
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(contact=contact, user=request.user, **form.service_fields())
        except ValidationError as error:
            form.add_service_error(error)
        else:
            if inline:
                fresh = selectors.contact_list().get(pk=pk)
                response = render(request, "contacts/partials/contact_facts.html#view", {"contact": fresh})
                return changed(toast(response, "Contact saved."))
            messages.success(request, "Contact saved.")
            return redirect(contact)
    if inline:
        return render(
            request, "contacts/partials/contact_facts.html#form", {"form": form, "contact": contact}
        )
    return render(request, "contacts/contact_form.html", {"form": form, "contact": contact})


@require_POST
@permission_required("contacts.delete_contact", raise_exception=True)
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    name = contact.full_name
    try:
        services.contact_delete(contact=contact, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(contact)
    messages.success(request, f"Contact {name} deleted.")
    return redirect("contacts:contact_list")
