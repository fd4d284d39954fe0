"""Profile pages: list/search, a profile with its identities, traits, ledger and timeline; contact panels."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from contacts.models import Company, Contact

from ..models import Profile, ProfileMerge
from . import selectors
from .identity import identifier_parse
from .merge import profile_unmerge
from .panels import profile_panels_for
from .resolution import merge_preview
from .timeline import KINDS, Cursor, timeline_page

PROFILES_PER_PAGE = 50


def _timeline_context(request: HttpRequest, *, profile, contact, url: str) -> dict:
    kind = request.GET.get("kind", "")
    kind = kind if kind in KINDS else ""
    channel = request.GET.get("channel", "")
    page = timeline_page(
        profile=profile,
        contact=contact,
        cursor=Cursor.decode(request.GET.get("cursor")),
        kind=kind,
        channel=channel,
    )
    return {
        "page": page,
        "timeline_url": url,
        "kind": kind,
        "channel": channel,
        "kinds": [(key, label) for key, (label, _) in KINDS.items()],
        "channels": selectors.channels_for(profile=profile, with_crm=contact is not None),
        "profile": profile,
        "contact": contact,
    }


def _render_timeline(request: HttpRequest, context: dict) -> HttpResponse:
    template = (
        "profiles/partials/_timeline_items.html"
        if request.GET.get("cursor")
        else "profiles/partials/_timeline.html"
    )
    return render(request, template, context)


@permission_required("profiles.view_profile", raise_exception=True)
@require_GET
def contact_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    profile = selectors.profile_for_contact(contact_id=contact.pk)
    url = reverse("profiles:contact_timeline", args=[contact.pk])
    return _render_timeline(request, _timeline_context(request, profile=profile, contact=contact, url=url))


@permission_required("profiles.view_profile", raise_exception=True)
@require_GET
def contact_cdp(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    profile = selectors.profile_for_contact(contact_id=contact.pk)
    return render(request, "profiles/partials/_cdp_panel.html", selectors.cdp_summary(profile=profile))


@permission_required("profiles.view_profile", raise_exception=True)
@require_GET
def contact_customer_context(request: HttpRequest, pk: int) -> HttpResponse:
    """The CDP lines of the ticket page's customer card (registered as a "customer" panel)."""
    contact = get_object_or_404(Contact, pk=pk)
    profile = selectors.profile_for_contact(contact_id=contact.pk)
    return render(
        request, "profiles/partials/_customer_context.html", selectors.customer_context(profile=profile)
    )


@permission_required("profiles.view_profile", raise_exception=True)
@require_GET
def company_cdp(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=pk)
    context = {"company": company, **selectors.company_cdp_summary(company_id=company.pk)}
    return render(request, "profiles/partials/_company_cdp_panel.html", context)


@permission_required("profiles.view_profile", raise_exception=True)
@require_GET
def profile_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(Profile.objects.select_related("contact"), pk=pk)
    url = reverse("profiles:profile_timeline", args=[profile.pk])
    return _render_timeline(
        request, _timeline_context(request, profile=profile, contact=profile.contact, url=url)
    )


@permission_required("profiles.view_profile", raise_exception=True)
@require_GET
def profile_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    page_obj = Paginator(selectors.profile_search(query=query, status=status), PROFILES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    params = "&".join(f"{k}={v}" for k, v in (("q", query), ("status", status)) if v)
    context = {
        "page_obj": page_obj,
        "profiles": page_obj.object_list,
        "q": query,
        "status": status,
        "querystring_without_page": params,
    }
    if request.htmx:
        return render(request, "profiles/partials/_profile_rows.html", context)
    return render(request, "profiles/profile_list.html", context)


@permission_required("profiles.view_profile", raise_exception=True)
@require_GET
def profile_detail(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(Profile.objects.select_related("contact", "company", "merged_into"), pk=pk)
    preview = None
    preview_error = ""
    raw = request.GET.get("identifier", "").strip()
    if raw:
        parsed = identifier_parse(raw)
        own = profile.identities.order_by("kind", "value").first()
        if parsed is None:
            preview_error = (
                "Write an identifier as kind:value, e.g. email:ann@example.com or anonymous_id:abc."
            )
        elif own is None:
            preview_error = "This profile holds no identifiers (it is merged into another profile)."
        else:
            preview = merge_preview(identifiers=[(own.kind, own.value), parsed])
    context = {
        "profile": profile,
        **selectors.cdp_summary(profile=profile),
        "ledger": selectors.ledger_for(profile=profile),
        "preview": preview,
        "preview_error": preview_error,
        "identifier": raw,
        "panels": profile_panels_for(user=request.user, profile_id=profile.pk),
    }
    return render(request, "profiles/profile_detail.html", context)


@permission_required("profiles.change_profile", raise_exception=True)
@require_POST
def profile_unmerge_view(request: HttpRequest, pk: int, merge_pk: int) -> HttpResponse:
    merge = get_object_or_404(ProfileMerge, pk=merge_pk, kind=ProfileMerge.Kind.MERGE)
    try:
        undo = profile_unmerge(merge=merge, user=request.user)
    except ValueError as error:
        messages.error(request, f"Cannot unmerge: {error}.")
        return redirect("profiles:profile_detail", pk=pk)
    messages.success(request, f"Profile {undo.merged_id} split back out of profile {undo.survivor_id}.")
    return redirect("profiles:profile_detail", pk=undo.merged_id)
