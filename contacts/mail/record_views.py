"""E-mail on records: the E-mail panels (contact, company, deal), compose and send, threads, attachments."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from contacts.models import Company, Contact

from . import selectors
from .forms import ComposeForm
from .models import EmailTemplate, MailAttachment, MailMessage, Unsubscribe
from .registry import RECORD_KINDS, RecordContext
from .sending import draft_render, message_send


def _need(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _panel(request, *, messages_page, compose_query: str, empty: str, unsubscribed=None) -> HttpResponse:
    rows, next_before = messages_page
    return render(
        request,
        "mail/partials/_record_panel.html"
        if not request.GET.get("before")
        else "mail/partials/_message_rows.html",
        {
            "rows": rows,
            "next_before": next_before,
            "more_url": f"{request.path}?before={next_before}" if next_before else "",
            "compose_url": f"{reverse('mail:compose')}?{compose_query}" if compose_query else "",
            "empty": empty,
            "unsubscribed": unsubscribed,
        },
    )


@require_GET
def contact_panel(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request.user, "mail.view_mailmessage")
    contact = get_object_or_404(Contact, pk=pk)
    can_send = request.user.has_perm("mail.add_mailmessage") and bool(contact.email)
    return _panel(
        request,
        messages_page=selectors.contact_messages(
            contact_id=contact.pk, before=_int(request.GET.get("before"))
        ),
        compose_query=f"contact={contact.pk}" if can_send else "",
        empty="No e-mail logged yet. Mail synced from a connected mailbox and mail sent from here appear here.",
        unsubscribed=Unsubscribe.objects.filter(email=contact.email.strip().lower()).first()
        if contact.email and not request.GET.get("before")
        else None,
    )


@require_GET
def company_panel(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request.user, "mail.view_mailmessage")
    company = get_object_or_404(Company, pk=pk)
    return _panel(
        request,
        messages_page=selectors.company_messages(
            company_id=company.pk, before=_int(request.GET.get("before"))
        ),
        compose_query="",
        empty="No e-mail with this company's contacts yet.",
    )


@require_GET
def deal_panel(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request.user, "mail.view_mailmessage")
    kind = RECORD_KINDS.get("deal")
    record = kind.load(pk=pk, user=request.user) if kind else None
    if record is None:
        raise Http404
    can_send = (
        request.user.has_perm("mail.add_mailmessage")
        and record.contact is not None
        and bool(record.contact.email)
    )
    return _panel(
        request,
        messages_page=selectors.deal_messages(deal_id=pk, before=_int(request.GET.get("before"))),
        compose_query=f"record=deal&id={pk}" if can_send else "",
        empty="No e-mail logged on this deal yet.",
    )


def _record(request: HttpRequest) -> tuple[str, int, RecordContext]:
    params = request.POST if request.method == "POST" else request.GET
    kind, pk = params.get("record") or "contact", _int(params.get("id") or params.get("contact"))
    if pk is None:
        raise Http404
    if kind == "contact":
        _need(request.user, "contacts.view_contact")
        contact = get_object_or_404(Contact.objects.select_related("company"), pk=pk)
        return (
            kind,
            pk,
            RecordContext(contact=contact, label=contact.full_name, url=contact.get_absolute_url()),
        )
    record_kind = RECORD_KINDS.get(kind)
    record = record_kind.load(pk=pk, user=request.user) if record_kind else None
    if record is None or record.contact is None:
        raise Http404
    return kind, pk, record


def _reply_to(request: HttpRequest) -> MailMessage | None:
    params = request.POST if request.method == "POST" else request.GET
    pk = _int(params.get("reply"))
    if pk is None:
        return None
    message = get_object_or_404(MailMessage, pk=pk)
    if not selectors.message_visible(user=request.user, message=message):
        raise Http404
    return message


@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    _need(request.user, "mail.add_mailmessage")
    kind, pk, record = _record(request)
    reply_to = _reply_to(request)
    mailboxes = selectors.sending_mailboxes(user=request.user)
    if request.method == "POST":
        form = ComposeForm(request.POST, mailboxes=mailboxes)
        if form.is_valid():
            data = form.cleaned_data
            try:
                message_send(
                    sender=request.user,
                    mailbox=data["mailbox"],
                    contact=record.contact,
                    subject=data["subject"],
                    body=data["body"],
                    track=data["track"],
                    deal_id=record.deal_id,
                    reply_to=reply_to,
                    extra_fields=record.fields,
                )
            except ValidationError as exc:
                form.add_service_error(exc)
            else:
                messages.success(
                    request, f"E-mail to {record.contact.full_name} is on its way; it is logged under E-mail."
                )
                return redirect(record.url)
    else:
        first = mailboxes.first()
        subject = ""
        if reply_to is not None:
            subject = (
                reply_to.subject if reply_to.subject.lower().startswith("re:") else f"Re: {reply_to.subject}"
            )
        form = ComposeForm(
            mailboxes=mailboxes,
            initial={
                "mailbox": first,
                "track": first.track_by_default if first else False,
                "subject": subject,
            },
        )
    return render(
        request,
        "mail/compose.html",
        {
            "form": form,
            "record": record,
            "kind": kind,
            "pk": pk,
            "reply_to": reply_to,
            "has_mailbox": mailboxes.exists(),
        },
        status=400 if form.errors else 200,
    )


@require_GET
def compose_template(request: HttpRequest) -> HttpResponse:
    """htmx: the subject and body fields filled from the chosen template, merge fields rendered."""
    _need(request.user, "mail.add_mailmessage")
    _, _, record = _record(request)
    template = EmailTemplate.objects.filter(pk=_int(request.GET.get("template")), is_active=True).first()
    form = ComposeForm(mailboxes=selectors.sending_mailboxes(user=request.user))
    if template is not None:
        try:
            draft = draft_render(
                subject=template.subject,
                body=template.body,
                contact=record.contact,
                sender=request.user,
                extra=record.fields,
            )
            form = ComposeForm(
                mailboxes=form.fields["mailbox"].queryset,
                initial={"subject": draft.subject, "body": draft.body},
            )
        except ValidationError as exc:
            form = ComposeForm(
                mailboxes=form.fields["mailbox"].queryset,
                initial={"subject": template.subject, "body": template.body},
            )
            form.errors_from_template = exc.messages
    return render(request, "mail/partials/_compose_fields.html", {"form": form})


@require_GET
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(MailMessage.objects.select_related("mailbox"), pk=pk)
    if not selectors.message_visible(user=request.user, message=message):
        raise Http404
    link = message.links.select_related("contact").filter(deal_id__isnull=True).first()
    return render(
        request,
        "mail/message_detail.html",
        {
            "message": message,
            "thread": selectors.thread_messages(message=message),
            "contact": link.contact if link else None,
            "can_reply": request.user.has_perm("mail.add_mailmessage") and link is not None,
            "tracked_links": list(message.tracked_links.all()) if message.tracked else [],
        },
    )


@require_GET
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    attachment = get_object_or_404(MailAttachment.objects.select_related("message"), pk=pk)
    if not attachment.kept or not selectors.message_visible(user=request.user, message=attachment.message):
        raise Http404
    # Always a download, never shown inline: an HTML or SVG attachment must not run in this site's origin.
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
