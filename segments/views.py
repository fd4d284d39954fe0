"""Segment pages: list, detail (members, size chart, destinations and deliveries), CSV export, the contact
panel, and the JSON endpoints the admin rule builder calls (suggestions, preview)."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from common.csv import csv_response as spreadsheet_response
from common.security.audit import audit_record
from contacts.models import Contact
from profiles.models import Profile

from . import activation, selectors
from .models import Delivery, Segment
from .rules import RuleError, rule_validate
from .tasks import segment_recompute_task

MEMBERS_PAGE_SIZE = 25


@require_GET
@permission_required("segments.view_segment", raise_exception=True)
def segment_list(request: HttpRequest) -> HttpResponse:
    return render(request, "segments/segment_list.html", {"segments": selectors.segment_list()})


@require_GET
@permission_required("segments.view_segment", raise_exception=True)
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    search = request.GET.get("q", "")
    page_obj = Paginator(
        selectors.segment_members(segment=segment, search=search), MEMBERS_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    ids = [m.profile_id for m in page_obj]
    identifiers = selectors.identifiers_for(profile_ids=ids)
    for membership in page_obj:
        found = identifiers.get(membership.profile_id, {})
        membership.email = (found.get("email") or [""])[0]
        membership.user_id = (found.get("user_id") or [""])[0]
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "segment": segment,
        "sentence": selectors.sentence_for(segment),
        "page_obj": page_obj,
        "search": search,
        "querystring_without_page": params.urlencode(),
    }
    if request.htmx and request.htmx.target == "members":
        return render(request, "segments/partials/_members.html", context)
    destinations, deliveries = selectors.destinations_with_deliveries(segment=segment)
    context.update(
        destinations=destinations,
        deliveries=deliveries,
        sizes=selectors.segment_size_series(segment=segment),
        trait_names=[t["name"] for t in selectors.trait_suggestions(sample=200)],
        can_edit=request.user.has_perm("segments.change_segment"),
    )
    return render(request, "segments/segment_detail.html", context)


@require_GET
@permission_required("segments.view_segment", raise_exception=True)
def segment_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """CSV of current members: profile id, entered at, identifiers, and the traits named in ?traits=a,b."""
    segment = get_object_or_404(Segment, pk=pk)
    traits = [t.strip() for t in request.GET.get("traits", "").split(",") if t.strip()][:50]
    audit_record(
        actor=request.user,
        action="csv_export",
        target=f"segment {segment.pk}: {segment.name}",
        detail={"traits": traits},
    )
    return csv_response(segment=segment, traits=traits)


def csv_response(*, segment: Segment, traits: list[str]) -> StreamingHttpResponse:
    def rows():
        members = selectors.segment_members(segment=segment).order_by("id")
        last_id = 0
        while True:
            chunk = list(members.filter(id__gt=last_id)[:1000])
            if not chunk:
                return
            found = selectors.identifiers_for(profile_ids=[m.profile_id for m in chunk])
            for m in chunk:
                ids = found.get(m.profile_id, {})
                values = [m.profile.traits.get(t, "") for t in traits]
                values = [json.dumps(v) if isinstance(v, dict | list) else v for v in values]
                yield [
                    m.profile_id,
                    m.entered_at.isoformat(),
                    ";".join(ids.get("email", [])),
                    ";".join(ids.get("user_id", [])),
                    *values,
                ]
            last_id = chunk[-1].id

    slug = "".join(c if c.isalnum() else "-" for c in segment.name.lower()).strip("-") or "segment"
    return spreadsheet_response(
        filename=f"segment-{slug}.csv",
        header=["profile_id", "entered_at", "email", "user_id", *traits],
        rows=rows(),
    )


@require_POST
@permission_required("segments.change_segment", raise_exception=True)
def segment_recompute(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    segment_recompute_task.delay(segment.pk)
    messages.success(request, f"Recomputing “{segment.name}”.")
    return redirect(segment)


@require_POST
@permission_required("segments.change_segment", raise_exception=True)
def delivery_replay(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery.objects.select_related("destination__segment"), pk=pk)
    activation.delivery_replay(delivery=delivery, user=request.user)
    messages.success(request, f"Delivery to “{delivery.destination.name}” queued again.")
    return redirect(delivery.destination.segment)


@require_GET
@permission_required("segments.view_segment", raise_exception=True)
def contact_segments(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    return render(
        request,
        "segments/partials/_contact_segments.html",
        {"memberships": selectors.contact_segments(contact=contact)},
    )


@require_GET
@permission_required("profiles.view_profile", raise_exception=True)
def contact_segment_badges(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's segments as badges for whoever sees CDP data (support on a ticket): the names only,
    linked to the segment pages when the user may open them."""
    contact = get_object_or_404(Contact, pk=pk)
    return render(
        request,
        "segments/partials/_contact_segments.html",
        {
            "memberships": selectors.contact_segments(contact=contact),
            "link_segments": request.user.has_perm("segments.view_segment"),
        },
    )


@require_GET
@permission_required("segments.view_segment", raise_exception=True)
def profile_segments(request: HttpRequest, pk: int) -> HttpResponse:
    """Badges for the profile page (the profiles app loads this partial with htmx)."""
    profile = get_object_or_404(Profile, pk=pk)
    return render(
        request,
        "segments/partials/_contact_segments.html",
        {"memberships": selectors.profile_segments(profile=profile)},
    )


# --- builder endpoints (JSON, used by the admin rule builder) -----------------------------------------


@require_GET
@permission_required("segments.change_segment", raise_exception=True)
def builder_suggestions(request: HttpRequest) -> JsonResponse:
    event = request.GET.get("event", "")
    from .rules.spec import CRM_FIELDS, OPS_BY_TYPE

    return JsonResponse(
        {
            "events": selectors.event_name_suggestions(),
            "properties": selectors.property_suggestions(event=event) if event else [],
            "traits": selectors.trait_suggestions(),
            "computed_traits": selectors.computed_trait_suggestions(),
            "ops_by_type": OPS_BY_TYPE,
            "crm_fields": {
                k: {"label": v[0], "ops": v[1], "type": v[2], "choices": v[3]} for k, v in CRM_FIELDS.items()
            },
            "segments": [{"id": pk, "name": name} for pk, name in selectors.segment_names().items()],
        }
    )


@require_POST
@permission_required("segments.change_segment", raise_exception=True)
def builder_preview(request: HttpRequest) -> JsonResponse:
    """Size estimate and sample for the rule being edited (not saved)."""
    try:
        payload = json.loads(request.body or b"{}")
    except json.JSONDecodeError:
        return JsonResponse({"errors": [{"path": "", "message": "The rule is not valid JSON."}]}, status=400)
    rule = payload.get("rule")
    segment_id = payload.get("segment_id")
    try:
        rule_validate(rule=rule, segment_id=segment_id, segment_lookup=_rule_of)
    except RuleError as error:
        return JsonResponse({"errors": [{"path": p, "message": m} for p, m in error.errors]}, status=400)
    preview = selectors.rule_preview(rule=rule)
    names = selectors.segment_names()
    from .rules import rule_sentence

    return JsonResponse(
        {
            "count": preview["count"],
            "sentence": rule_sentence(rule=rule, segment_name=lambda sid: names.get(sid, f"#{sid}")),
            "sample": [{"id": p.pk, "label": str(p), "last_seen": p.last_seen} for p in preview["sample"]],
        }
    )


def _rule_of(segment_id: int):
    return Segment.objects.filter(pk=segment_id).values_list("rule", flat=True).first()
