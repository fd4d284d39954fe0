"""Segment's Profile API, as Segment documents it: /v1/spaces/<space>/collections/users/profiles/<id>/<route>.

Routes traits, external_ids, events, metadata and links; the access token (a REST API token of a user who
may view profiles) is the HTTP Basic user name; errors are `{"error": {"code", "message"}}`; lists page
with `limit` and the `next` cursor of the answer's `cursor`. Segment's own `/api/profiles/` shape stays.
Audience traits come from the apps that register a provider (segments does) so profiles imports nothing above it.
"""

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db.models import Min, Q
from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET

from common.params import datetime_param, is_id
from common.security.tokens import api_token_find

from ..ingest.clean import json_clean
from ..models import Event, Identity, Profile
from .identity import EXTERNAL_PREFIX, identifier_parse, profile_by_identifier

# profile id -> {audience key: True} for the profile's current audiences (segments registers one).
AUDIENCE_PROVIDERS: list[Callable[[int], dict[str, bool]]] = []

TRAIT_LIMITS = (10, 200)  # (default, most) per call, as Segment documents
LIST_LIMITS = (10, 100)
SEGMENT_KINDS = {"user_id", "anonymous_id", "email", "phone"}


def audience_provider_register(provider: Callable[[int], dict[str, bool]]) -> None:
    AUDIENCE_PROVIDERS.append(provider)


class ProfileApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JsonResponse:
        response = JsonResponse({"error": {"code": self.code, "message": self.message}}, status=self.status)
        if self.status == 401:
            response["WWW-Authenticate"] = 'Basic realm="profiles"'
        return response


def _authenticate(request: HttpRequest) -> None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    token_key = ""
    if header[:6].lower() == "basic ":
        try:
            token_key = base64.b64decode(header[6:].strip(), validate=True).decode().split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            token_key = ""
    if not token_key:
        raise ProfileApiError(
            401, "authentication_error", "Use your access token as the HTTP Basic user name."
        )
    token, reason = api_token_find(key=token_key)
    if token is None:
        raise ProfileApiError(401, "authentication_error", reason)
    if not token.user.has_perm("profiles.view_profile"):
        raise ProfileApiError(403, "authentication_error", "This access token may not read profiles.")


def _limit(request: HttpRequest, limits: tuple[int, int]) -> int:
    text = request.GET.get("limit")
    if not text:
        return limits[0]
    if not is_id(text) or not 1 <= int(text) <= limits[1]:
        raise ProfileApiError(
            400, "validation_error", f"The parameter `limit` must be between 1 and {limits[1]}."
        )
    return int(text)


def _names(request: HttpRequest, parameter: str) -> set[str]:
    names = request.GET.get(parameter, "").replace("\x00", "")  # stored names never hold NUL
    return {name.strip() for name in names.split(",") if name.strip()}


def _verbose(request: HttpRequest) -> bool:
    return request.GET.get("verbose", "").lower() == "true"


def _cursor(request: HttpRequest, *, has_more: bool, next_value: str, limit: int) -> dict:
    return {
        "url": request.get_full_path(),
        "has_more": has_more,
        "next": next_value if has_more else "",
        "limit": limit,
    }


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _external_type(kind: str) -> str:
    return kind[len(EXTERNAL_PREFIX) :] if kind.startswith(EXTERNAL_PREFIX) else kind


def _profile(external_id: str) -> Profile:
    """`<type>:<value>` as Segment writes it; a type that is none of Segment's built-in ones is one of
    our external ids (`shop_id:42` is `external:shop_id:42`)."""
    kind = external_id.partition(":")[0]
    text = external_id if kind in SEGMENT_KINDS or kind == "external" else f"{EXTERNAL_PREFIX}{external_id}"
    identifier = identifier_parse(text)
    profile = profile_by_identifier(identifier=identifier) if identifier else None
    if profile is None:
        raise ProfileApiError(404, "not_found", "Profile was not found.")
    return profile


def _traits(request: HttpRequest, profile: Profile) -> dict:
    wanted = request.GET.get("class", "")
    if wanted not in ("", "audience", "computed_trait"):
        raise ProfileApiError(
            400, "validation_error", "The parameter `class` must be audience or computed_trait."
        )
    computed = dict(profile.computed_traits)
    audiences: dict[str, bool] = {}
    if wanted in ("", "audience"):
        for provider in AUDIENCE_PROVIDERS:
            audiences.update(provider(profile.pk))
    if wanted == "audience":
        values = audiences
    elif wanted == "computed_trait":
        values = computed
    else:
        values = {**computed, **audiences, **profile.traits}
    include = _names(request, "include")
    if include:
        values = {key: value for key, value in values.items() if key in include}
    limit = _limit(request, TRAIT_LIMITS)
    after = request.GET.get("next", "")
    names = sorted(name for name in values if name > after)
    page = names[:limit]
    if _verbose(request):
        changed = _iso(profile.updated_at)
        traits = {
            name: {
                "value": values[name],
                "source_id": None,
                "updated_at": profile.trait_times.get(name) or changed,
            }
            for name in page
        }
    else:
        traits = {name: values[name] for name in page}
    has_more = len(names) > limit
    return {
        "traits": traits,
        "cursor": _cursor(request, has_more=has_more, next_value=page[-1] if page else "", limit=limit),
    }


def _external_ids(request: HttpRequest, profile: Profile) -> dict:
    limit = _limit(request, (25, 100))
    identities = Identity.objects.filter(profile=profile).order_by("id")
    include = _names(request, "include")
    if include:
        kinds = {kind if kind in SEGMENT_KINDS else f"{EXTERNAL_PREFIX}{kind}" for kind in include}
        identities = identities.filter(kind__in=kinds)
    after = request.GET.get("next", "")
    if after:
        if not is_id(after):
            raise ProfileApiError(
                400, "validation_error", "The parameter `next` is not a cursor of this list."
            )
        identities = identities.filter(id__gt=int(after))
    rows = list(identities[: limit + 1])
    page = rows[:limit]
    data = []
    for identity in page:
        item = {
            "id": identity.value,
            "type": _external_type(identity.kind),
            "source_id": None,
            "collection": "users",
            "created_at": _iso(identity.created_at),
            "encoding": "none",
        }
        data.append(item)
    has_more = len(rows) > limit
    return {
        "data": data,
        "cursor": _cursor(
            request, has_more=has_more, next_value=str(page[-1].pk) if page else "", limit=limit
        ),
    }


def _date(text: str):
    try:
        return parse_date(text)
    except ValueError:  # well formed but no such day (2026-13-45)
        return None


def _when(request: HttpRequest, parameter: str) -> datetime | None:
    text = request.GET.get(parameter, "").strip()
    if not text:
        return None
    value = datetime_param(text)  # None when impossible (an offset past 24 h); UTC for PostgreSQL's sake
    if value is None and (day := _date(text)) is not None:
        value = datetime(day.year, day.month, day.day, tzinfo=UTC)
    if value is None:
        raise ProfileApiError(
            400, "validation_error", f"The parameter `{parameter}` must be an ISO 8601 date."
        )
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _event_cursor(event: Event) -> str:
    return base64.urlsafe_b64encode(f"{event.timestamp.isoformat()}|{event.pk}".encode()).decode()


def _event_after(text: str) -> tuple[datetime, int]:
    try:
        time_text, _, pk = base64.urlsafe_b64decode(text.encode()).decode().rpartition("|")
        moment = datetime_param(time_text)
        if moment is not None and is_id(pk):
            return moment, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ProfileApiError(400, "validation_error", "The parameter `next` is not a cursor of this list.")


def _event_name(event: Event) -> str:
    if event.type == "track":
        return event.name
    return {"page": "Page Viewed", "screen": "Screen Viewed"}.get(event.type, event.type.capitalize())


def _events(request: HttpRequest, profile: Profile) -> dict:
    limit = _limit(request, LIST_LIMITS)
    sort = request.GET.get("sort", "desc")
    if sort not in ("asc", "desc"):
        raise ProfileApiError(400, "validation_error", "The parameter `sort` must be asc or desc.")
    events = Event.objects.filter(profile=profile).select_related("source")
    if start := _when(request, "start"):
        events = events.filter(timestamp__gt=start)
    if end := _when(request, "end"):
        events = events.filter(timestamp__lt=end)
    include, exclude = _names(request, "include"), _names(request, "exclude")
    if include:
        events = events.filter(name__in=include, type="track")
    if exclude:
        events = events.exclude(Q(name__in=exclude, type="track"))
    if request.GET.get("next"):
        moment, pk = _event_after(request.GET["next"])
        if sort == "desc":
            events = events.filter(Q(timestamp__lt=moment) | Q(timestamp=moment, id__lt=pk))
        else:
            events = events.filter(Q(timestamp__gt=moment) | Q(timestamp=moment, id__gt=pk))
    order = ("-timestamp", "-id") if sort == "desc" else ("timestamp", "id")
    rows = list(events.order_by(*order)[: limit + 1])
    page = rows[:limit]
    data = []
    for event in page:
        ids = [("user_id", event.user_id), ("anonymous_id", event.anonymous_id)]
        item = {
            "external_ids": [
                {"collection": "users", "type": kind, "id": value, "encoding": "none"}
                for kind, value in ids
                if value
            ],
            "context": event.context,
            "type": event.type,
            "message_id": event.message_id,
            "source_id": str(event.source_id),
            "timestamp": _iso(event.timestamp),
            "properties": event.properties,
            "event": _event_name(event),
            "related": {"users": str(profile.pk)},
        }
        if event.traits:
            item["traits"] = event.traits
        data.append(item)
    has_more = len(rows) > limit
    return {
        "data": data,
        "cursor": _cursor(
            request, has_more=has_more, next_value=_event_cursor(page[-1]) if page else "", limit=limit
        ),
    }


def _metadata(request: HttpRequest, profile: Profile) -> dict:
    events = Event.objects.filter(profile=profile).values_list("message_id", "source_id")
    first = events.order_by("timestamp", "id").first()
    last = events.order_by("-timestamp", "-id").first()
    return {
        "metadata": {
            "created_at": _iso(profile.created_at),
            "updated_at": _iso(profile.updated_at),
            "expires_at": None,
            "first_message_id": first[0] if first else None,
            "first_source_id": str(first[1]) if first else None,
            "last_message_id": last[0] if last else None,
            "last_source_id": str(last[1]) if last else None,
        }
    }


def _links(request: HttpRequest, profile: Profile) -> dict:
    limit = _limit(request, (20, 100))
    groups = (
        Event.objects.filter(profile=profile, type="group")
        .values("group_id")
        .annotate(first=Min("timestamp"), source=Min("source_id"))
        .order_by("group_id")[:limit]
    )
    data = [
        {
            "to_collection": "accounts",
            "external_ids": [
                {
                    "id": row["group_id"],
                    "type": "group_id",
                    "source_id": str(row["source"]),
                    "collection": "accounts",
                    "created_at": _iso(row["first"]),
                    "encoding": "none",
                }
            ],
        }
        for row in groups
    ]
    return {"data": data}


ROUTES = {
    "traits": _traits,
    "external_ids": _external_ids,
    "events": _events,
    "metadata": _metadata,
    "links": _links,
}


@login_not_required
@require_GET
def profile_api(request: HttpRequest, space_id: str, external_id: str, route: str) -> JsonResponse:
    try:
        _authenticate(request)
        if space_id != settings.PROFILE_API_SPACE_ID:
            raise ProfileApiError(404, "not_found", "Space was not found.")
        if route not in ROUTES:
            raise ProfileApiError(404, "not_found", "Resource not found.")
        body = ROUTES[route](request, _profile(external_id))
    except ProfileApiError as error:
        return error.response()
    return JsonResponse(json_clean(body))
