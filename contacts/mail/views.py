"""Mailbox pages: list (with the signature), connect, edit, check connection, pause, sync progress, problems."""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors, services
from .forms import MailboxForm, SignatureForm
from .models import Mailbox
from .registry import MAILBOX_KINDS
from .sending import signature_for

PROBLEMS_PER_PAGE = 25


def _toast(response: HttpResponse, message: str, kind: str = "success") -> HttpResponse:
    response["HX-Trigger"] = json.dumps({"toast": {"message": message, "kind": kind}})
    return response


def _can_connect(user) -> bool:
    return user.is_superuser or any(user.has_perm(k.manage_permission) for k in MAILBOX_KINDS.values())


def _managed(request: HttpRequest, pk: int) -> Mailbox:
    """A mailbox the user manages; others' personal mailboxes are a plain 404 (their existence is private)."""
    return get_object_or_404(selectors.mailboxes_for(user=request.user), pk=pk)


@require_GET
def mailbox_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("mail.view_mailbox"):
        raise PermissionDenied
    return render(
        request,
        "mail/mailbox_list.html",
        {
            "mailboxes": selectors.mailboxes_for(user=request.user),
            "can_connect": _can_connect(request.user),
            "signature_form": SignatureForm(initial={"text": signature_for(request.user)}),
        },
    )


@require_POST
def signature_save(request: HttpRequest) -> HttpResponse:
    form = SignatureForm(request.POST)
    if form.is_valid():
        try:
            services.signature_set(user=request.user, text=form.cleaned_data["text"])
        except ValidationError as exc:
            form.add_service_error(exc)
    if form.errors:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    else:
        messages.success(request, "Signature saved.")
    return redirect("mail:mailbox_list")


def _form_page(request, form, mailbox=None) -> HttpResponse:
    return render(
        request,
        "mail/mailbox_form.html",
        {"form": form, "mailbox": mailbox},
        status=400 if form.errors else 200,
    )


def _save(request: HttpRequest, form: MailboxForm, mailbox: Mailbox | None) -> Mailbox | None:
    if not form.is_valid():
        return None
    try:
        return services.mailbox_save(
            user=request.user,
            mailbox=mailbox,
            imap_password=form.cleaned_data["imap_password"],
            **form.service_fields(),
        )
    except ValidationError as exc:
        form.add_service_error(exc)
        return None


@require_http_methods(["GET", "POST"])
def mailbox_create(request: HttpRequest) -> HttpResponse:
    if not _can_connect(request.user):
        raise PermissionDenied
    if request.method == "POST":
        form = MailboxForm(request.POST, user=request.user)
        mailbox = _save(request, form, None)
        if mailbox is not None:
            messages.success(
                request, f"{mailbox.name} is connected. Check the connection, then the first sync starts."
            )
            return redirect(mailbox.get_absolute_url())
        return _form_page(request, form)
    domain = request.user.email.rpartition("@")[2] if request.user.email else ""
    form = MailboxForm(
        user=request.user,
        initial={
            "email_address": request.user.email,
            "from_name": request.user.get_full_name(),
            "internal_domains": domain,
        },
    )
    return _form_page(request, form)


@require_http_methods(["GET", "POST"])
def mailbox_edit(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = _managed(request, pk)
    if request.method == "POST":
        form = MailboxForm(request.POST, user=request.user, mailbox=mailbox)
        saved = _save(request, form, mailbox)
        if saved is not None:
            messages.success(request, "Mailbox saved.")
            return redirect(saved.get_absolute_url())
        return _form_page(request, form, mailbox)
    initial = {name: getattr(mailbox, name) for name in services.MAILBOX_FIELDS}
    return _form_page(request, MailboxForm(user=request.user, mailbox=mailbox, initial=initial), mailbox)


@require_GET
def mailbox_detail(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = _managed(request, pk)
    page = Paginator(selectors.mailbox_problems(mailbox=mailbox), PROBLEMS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    folders = list(mailbox.folders.all())
    context = {
        "mailbox": mailbox,
        "folders": folders,
        "problems": page,
        "syncing": any(folder.backlog_left for folder in folders),
        "not_filed": selectors.mailbox_not_filed(mailbox=mailbox),
    }
    if request.htmx and request.htmx.target == "mailbox-status":
        return render(request, "mail/partials/_mailbox_status.html", context)
    return render(request, "mail/mailbox_detail.html", context)


@require_POST
def mailbox_check(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = _managed(request, pk)
    lines = services.mailbox_check(mailbox=mailbox)
    return render(
        request,
        "mail/partials/_check_result.html",
        {"lines": lines, "mailbox": mailbox, "all_ok": all(line.ok for line in lines)},
    )


@require_POST
def mailbox_pause(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = _managed(request, pk)
    paused = request.POST.get("paused") == "1"
    services.mailbox_pause(mailbox=mailbox, paused=paused)
    messages.success(
        request, "Paused: nothing is synced until you resume." if paused else "Resumed: syncing again."
    )
    return redirect(mailbox.get_absolute_url())


@require_POST
def mailbox_sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    from .tasks import mailbox_poll_task

    mailbox = _managed(request, pk)
    if mailbox.paused or not mailbox.can_read:
        messages.error(request, "This mailbox is paused or has no real IMAP server, so it cannot sync.")
        return redirect(mailbox.get_absolute_url())
    Mailbox.objects.filter(pk=mailbox.pk).update(next_poll_at=timezone.now())
    mailbox_poll_task.delay(mailbox.pk)
    messages.success(request, "Sync started.")
    return redirect(mailbox.get_absolute_url())


@require_POST
def mailbox_delete(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = _managed(request, pk)
    name = mailbox.name
    try:
        services.mailbox_delete(mailbox=mailbox)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(mailbox.get_absolute_url())
    messages.success(request, f"{name} is disconnected. E-mails already logged on contacts stay.")
    return redirect("mail:mailbox_list")
