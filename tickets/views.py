"""Ticket pages: create, detail with thread and inline changes, contact/company panels, metrics.

The queue is in queue_views.py.
"""

import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.htmx import error_text, toast
from common.params import id_param, is_id
from contacts.mail.models import EmailTemplate
from contacts.mail.sending import draft_render
from contacts.models import Company, Contact, LoyaltyAccount
from contacts.panels import contact_panels_for
from contacts.services import contact_create

from . import selectors, services
from .forms import ReplyForm, TicketCreateForm
from .models import Priority, Status, Team, Ticket
from .services.outbound import team_mailbox

# --- create -------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required("tickets.add_ticket", raise_exception=True)
def ticket_create(request: HttpRequest) -> HttpResponse:
    contact = None
    if request.method == "POST":
        form = TicketCreateForm(request.POST)
        if form.is_valid():
            try:
                ticket = _ticket_create_from_form(request, form)
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, f"Ticket {ticket.reference} created.")
                return redirect(ticket)
        contact = form.cleaned_data.get("contact") if hasattr(form, "cleaned_data") else None
    else:
        contact_id = request.GET.get("contact", "")
        contact = Contact.objects.filter(pk=contact_id).first() if is_id(contact_id) else None
        form = TicketCreateForm(initial={"contact": contact, "assignee": request.user.pk})
    return render(request, "tickets/ticket_form.html", {"form": form, "contact": contact})


@transaction.atomic
def _ticket_create_from_form(request: HttpRequest, form: TicketCreateForm) -> Ticket:
    data = form.cleaned_data
    contact = data.get("contact")
    if contact is None:
        email = data["requester_email"]
        contact = Contact.objects.filter(email__iexact=email).first()
        if contact is None:
            first, _, last = data.get("requester_name", "").strip().partition(" ")
            contact = contact_create(user=request.user, email=email, first_name=first, last_name=last)
    return services.ticket_create(
        user=request.user,
        contact=contact,
        subject=data["subject"],
        body=data.get("body", ""),
        priority=data["priority"],
        channel=data["channel"],
        team=data.get("team"),
        assignee=data.get("assignee"),
        status=Status.OPEN if data.get("assignee") else Status.NEW,
        tags=form.tag_names(),
    )


# --- detail -------------------------------------------------------------------------------------------


def _detail_context(request: HttpRequest, ticket: Ticket, *, reply_form: ReplyForm | None = None) -> dict:
    contact = ticket.contact
    try:
        loyalty = contact.loyalty
    except LoyaltyAccount.DoesNotExist:
        loyalty = None
    try:
        deals_url = reverse("pipeline:contact_deals", args=[contact.pk])
    except NoReverseMatch:
        deals_url = ""
    return {
        "ticket": ticket,
        "now": timezone.now(),
        "contact": contact,
        "loyalty": loyalty,
        "deals_url": deals_url if request.user.has_perm("pipeline.view_deal") else "",
        # CDP context (orders, last seen, segments) from the apps above, loaded with htmx.
        "customer_panels": [
            entry
            for entry in contact_panels_for(user=request.user, contact_id=contact.pk)
            if entry["panel"].placement == "customer"
        ],
        "other_tickets": selectors.ticket_list_for_contact(
            contact_id=contact.pk, exclude_id=ticket.pk, limit=5
        ),
        "reply_form": reply_form or ReplyForm(),
        "email_templates": list(EmailTemplate.objects.filter(is_active=True).values_list("pk", "name")),
        "reply_mailbox": team_mailbox(ticket.team_id),
        "can_edit": request.user.has_perm("tickets.change_ticket"),
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "agents": selectors.agent_list(),
        "teams": Team.objects.all(),
        "at_risk_minutes": settings.TICKETS_SLA_AT_RISK_MINUTES,
    }


@require_GET
@permission_required("tickets.view_ticket", raise_exception=True)
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        ticket = selectors.ticket_detail_get(pk=pk)
    except Ticket.DoesNotExist:
        return render(request, "tickets/not_found.html", status=404)
    return render(request, "tickets/ticket_detail.html", _detail_context(request, ticket))


@require_POST
@permission_required("tickets.change_ticket", raise_exception=True)
def ticket_reply(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket, pk=pk)
    form = ReplyForm(request.POST)
    sent = False
    if form.is_valid():
        try:
            services.ticket_reply(
                user=request.user,
                ticket=ticket,
                body=form.cleaned_data["body"],
                internal=form.cleaned_data["internal"],
            )
            sent = True
        except ValidationError as error:
            form.add_error(None, error_text(error))
    if not request.htmx:
        if sent:
            messages.success(request, "Note added." if form.cleaned_data["internal"] else "Reply sent.")
        else:
            messages.error(
                request,
                "The message was not sent: " + " ".join(e for errs in form.errors.values() for e in errs),
            )
        return redirect(ticket)
    ticket = selectors.ticket_detail_get(pk=pk)
    context = _detail_context(request, ticket, reply_form=None if sent else form)
    response = render(request, "tickets/partials/_conversation.html", context | {"oob_properties": True})
    if sent:
        toast(response, "Note added." if form.cleaned_data["internal"] else "Reply sent to the customer.")
    return response


@require_GET
@permission_required("tickets.change_ticket", raise_exception=True)
def ticket_reply_template(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the reply box filled from an e-mail template, its merge fields rendered for this ticket."""
    ticket = get_object_or_404(Ticket.objects.select_related("contact", "contact__company"), pk=pk)
    template = EmailTemplate.objects.filter(
        pk=id_param(request.GET.get("template")) or 0, is_active=True
    ).first()
    body = ""
    if template is not None:
        extra = {
            "ticket": {
                "reference": ticket.reference,
                "subject": ticket.subject,
                "status": ticket.get_status_display(),
            }
        }
        try:
            body = draft_render(
                subject=template.subject,
                body=template.body,
                contact=ticket.contact,
                sender=request.user,
                extra=extra,
            ).body
        except ValidationError as error:
            body = template.body
            response = render(
                request,
                "tickets/partials/_reply_body.html",
                {"reply_form": ReplyForm(initial={"body": body})},
            )
            return toast(response, error_text(error), "warning")
    return render(
        request, "tickets/partials/_reply_body.html", {"reply_form": ReplyForm(initial={"body": body})}
    )


@require_POST
@permission_required("tickets.change_ticket", raise_exception=True)
def ticket_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Change one property inline: status, priority, assignee, team or satisfaction."""
    ticket = get_object_or_404(Ticket, pk=pk)
    post = request.POST
    done = ""
    try:
        if "status" in post:
            services.ticket_status_change(user=request.user, ticket=ticket, status=post["status"])
            done = "Status updated."
        elif "priority" in post:
            services.ticket_priority_change(user=request.user, ticket=ticket, priority=post["priority"])
            done = "Priority updated; SLA targets recalculated."
        elif "assignee" in post:
            value = post["assignee"]
            agent = selectors.agent_list().filter(pk=value).first() if is_id(value) else None
            if value and agent is None:
                raise ValidationError({"assignee": "Pick an agent."})
            services.ticket_assign(user=request.user, ticket=ticket, assignee=agent)
            done = "Assignee updated."
        elif "team" in post:
            value = post["team"]
            team = Team.objects.filter(pk=value).first() if is_id(value) else None
            services.ticket_team_change(user=request.user, ticket=ticket, team=team)
            done = "Team updated."
        elif "tags" in post:
            names = [name.strip() for name in post["tags"].split(",") if name.strip()]
            if any(len(name) > 60 for name in names):
                raise ValidationError({"tags": "A tag has at most 60 characters."})
            services.ticket_tags_set(user=request.user, ticket=ticket, tags=names)
            done = "Tags updated."
        elif "satisfaction_rating" in post:
            rating = post["satisfaction_rating"]
            if not is_id(rating):
                raise ValidationError({"satisfaction_rating": "Rate from 1 to 5."})
            services.ticket_satisfaction_set(
                user=request.user,
                ticket=ticket,
                rating=int(rating),
                comment=post.get("satisfaction_comment", ""),
            )
            done = "Satisfaction recorded."
        else:
            raise ValidationError("Nothing to change.")
    except ValidationError as error:
        if not request.htmx:
            messages.error(request, error_text(error))
            return redirect(ticket)
        ticket = selectors.ticket_detail_get(pk=pk)
        response = render(request, "tickets/partials/_properties.html", _detail_context(request, ticket))
        return toast(response, error_text(error), "danger")
    if not request.htmx:
        messages.success(request, done)
        return redirect(ticket)
    ticket = selectors.ticket_detail_get(pk=pk)
    response = render(
        request, "tickets/partials/_properties.html", _detail_context(request, ticket) | {"oob_header": True}
    )
    return toast(response, done)


# --- panels on contact and company pages -----------------------------------------------------------------


@require_GET
@permission_required("tickets.view_ticket", raise_exception=True)
def contact_tickets(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    context = {
        "tickets": selectors.ticket_list_for_contact(contact_id=contact.pk, limit=20),
        "new_url": reverse("tickets:ticket_create") + f"?contact={contact.pk}",
        "now": timezone.now(),
        "show_contact": False,
    }
    return render(request, "tickets/partials/_panel_tickets.html", context)


@require_GET
@permission_required("tickets.view_ticket", raise_exception=True)
def company_tickets(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=pk)
    context = {
        "tickets": selectors.ticket_list_for_company(company_id=company.pk, limit=20),
        "new_url": "",
        "now": timezone.now(),
        "show_contact": True,
    }
    return render(request, "tickets/partials/_panel_tickets.html", context)


# --- metrics ------------------------------------------------------------------------------------------


def _date_param(value: str | None, default: datetime.date) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value) if value else default
    except ValueError:
        return default


@require_GET
@permission_required("tickets.view_ticket", raise_exception=True)
def metrics(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    today = timezone.localdate(now)
    start_date = _date_param(request.GET.get("start"), today - datetime.timedelta(days=29))
    end_date = _date_param(request.GET.get("end"), today)
    if end_date < start_date:
        start_date, end_date = end_date, start_date
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(start_date, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(end_date + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    groups = [
        (label, selectors.ticket_metrics(start=start, end=end, group_by=key, now=now))
        for key, label in (("team", "Team"), ("agent", "Agent"), ("priority", "Priority"))
    ]
    return render(
        request,
        "tickets/metrics.html",
        {"groups": groups, "start": start_date, "end": end_date},
    )
