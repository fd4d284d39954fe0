"""The REST API's one error contract, strict writes and pagination, shared by every app's api.py.

Every 400 is `{"field": ["message", ...]}`, with errors that belong to no field under `non_field_errors`;
a delete that other rows protect is a 409 that names them; a write naming a field the endpoint does not
have is a 400 naming it instead of being dropped.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django_filters import rest_framework as filters
from rest_framework import exceptions, pagination, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY  # "non_field_errors"


def _as_lists(detail) -> dict | list:
    """DRF error detail in the contract's shape: a dict of lists (nested serializers keep nesting)."""
    if isinstance(detail, dict):
        shaped = {}
        for key, value in detail.items():
            name = NON_FIELD if key in ("__all__", "detail") else str(key)
            value = _as_lists(value)
            shaped[name] = value if isinstance(value, list | dict) else [value]
        return shaped
    if isinstance(detail, list):
        return [_as_lists(item) if isinstance(item, dict | list) else item for item in detail]
    return [detail]


def validation_detail(error: DjangoValidationError) -> dict:
    """A Django ValidationError (from a service or `full_clean`) as the contract's dict."""
    if hasattr(error, "error_dict"):
        return {
            (NON_FIELD if name == "__all__" else name): messages
            for name, messages in error.message_dict.items()
        }
    return {NON_FIELD: error.messages}


def _protected_names(error: ProtectedError | RestrictedError) -> list[str]:
    counts: dict[type, int] = {}
    for obj in error.protected_objects if isinstance(error, ProtectedError) else error.restricted_objects:
        counts[type(obj)] = counts.get(type(obj), 0) + 1
    return sorted(
        f"{count} {model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural}"
        for model, count in counts.items()
    )


def exception_handler(exc, context):
    """DRF's handler, after turning Django's errors into API errors and reshaping every 400."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_detail(exc))
    if isinstance(exc, ProtectedError | RestrictedError):
        names = _protected_names(exc)
        return Response(
            {
                "detail": f"It is still used by {', '.join(names)}; remove or move them first.",
                "protected_by": names,
            },
            status=status.HTTP_409_CONFLICT,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = (
            _as_lists(response.data)
            if isinstance(response.data, dict)
            else {NON_FIELD: _as_lists(response.data)}
        )
    return response


class StrictFieldsMixin:
    """Refuse keys the serializer has no field for, naming them (a typo must not be dropped with a 201)."""

    def to_internal_value(self, data):
        if isinstance(data, dict) and hasattr(data, "keys"):
            unknown = sorted(str(key) for key in data.keys() if key not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["This field does not exist here."] for key in unknown}
                )
        return super().to_internal_value(data)


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    pass


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (up to API_MAX_PAGE_SIZE); the default size is REST_FRAMEWORK's PAGE_SIZE."""

    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:
        return settings.API_MAX_PAGE_SIZE


class IsoDateTimeUtcFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 date-time filter whose value reaches the database in UTC: Python accepts UTC offsets up to
    +-23:59 that PostgreSQL refuses past +-15:59 (a DataError, a 500)."""

    def filter(self, qs, value):
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            value = value.astimezone(datetime.UTC)
        return super().filter(qs, value)
