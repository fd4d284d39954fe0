"""The REST API's error contract: every 400 is {"field": [messages]}, protected deletes are 409s."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions

from common.api import exception_handler


def _body(exc):
    return exception_handler(exc, {}).data


def test_a_plain_django_message_is_a_non_field_error():
    assert _body(DjangoValidationError("Nothing to merge.")) == {"non_field_errors": ["Nothing to merge."]}


def test_a_django_error_dict_keeps_field_names_and_renames_all():
    error = DjangoValidationError({"email": "Taken.", "__all__": "Pick one."})
    assert _body(error) == {"email": ["Taken."], "non_field_errors": ["Pick one."]}


def test_a_bare_drf_list_or_string_goes_under_non_field_errors():
    assert _body(exceptions.ValidationError(["a", "b"])) == {"non_field_errors": ["a", "b"]}
    assert _body(exceptions.ValidationError("one")) == {"non_field_errors": ["one"]}
    assert _body(exceptions.ValidationError({"detail": "x"})) == {"non_field_errors": ["x"]}
    assert _body(exceptions.ValidationError({"name": "x"})) == {"name": ["x"]}
