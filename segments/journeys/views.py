"""Journey pages: the list, a journey's diagram with counts and its entries/conversions/exits over time,
and the paths of a profile (a panel on the profile and contact pages)."""

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from contacts.models import Contact
from profiles.models import Profile

from . import selectors
from .models import Journey


@permission_required("journeys.view_journey", raise_exception=True)
@require_GET
def journey_list(request: HttpRequest) -> HttpResponse:
    journeys = Journey.objects.select_related("live_version").order_by("name")
    page = Paginator(journeys, 50).get_page(request.GET.get("page"))
    return render(request, "journeys/journey_list.html", {"page_obj": page, "journeys": page.object_list})


@permission_required("journeys.view_journey", raise_exception=True)
@require_GET
def journey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    journey = get_object_or_404(Journey.objects.select_related("live_version"), pk=pk)
    steps, entering = selectors.journey_diagram(journey=journey)
    enrolments, older = selectors.journey_enrolments_page(journey=journey, before=request.GET.get("before"))
    context = {
        "journey": journey,
        "steps": steps,
        "totals": selectors.journey_totals(journey=journey, waiting_to_start=entering),
        "over_time": selectors.journey_over_time(journey=journey),
        "enrolments": enrolments,
        "older": older,
        "can_edit": request.user.has_perm("journeys.change_journey") and request.user.is_staff,
    }
    if request.htmx and request.GET.get("before"):
        return render(request, "journeys/partials/_enrolments.html", context)
    return render(request, "journeys/journey_detail.html", context)


@permission_required("journeys.view_journey", raise_exception=True)
@require_GET
def profile_journeys(request: HttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(Profile, pk=pk)
    return render(
        request, "journeys/partials/_paths.html", {"paths": selectors.profile_paths(profile_id=profile.pk)}
    )


@permission_required("journeys.view_journey", raise_exception=True)
@require_GET
def contact_journeys(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=pk)
    profile = Profile.objects.filter(contact=contact).only("pk").first()
    paths = selectors.profile_paths(profile_id=profile.pk) if profile else []
    return render(request, "journeys/partials/_paths.html", {"paths": paths})
