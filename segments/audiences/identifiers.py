"""Identifiers as customer-match uploads require them: normalised, then SHA-256 (hex, lower case)."""

import hashlib

import phonenumbers
from django.conf import settings


def email_normalise(value: str) -> str | None:
    value = (value or "").strip().lower()
    return value if "@" in value and len(value) <= 254 else None


def phone_normalise(value: str) -> str | None:
    """E.164 ("+14155552671"); numbers without a country code use PHONENUMBER_DEFAULT_REGION."""
    try:
        number = phonenumbers.parse(str(value or ""), getattr(settings, "PHONENUMBER_DEFAULT_REGION", "US"))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def meta_phone(e164: str) -> str:
    """Meta wants digits with the country code and no "+" before hashing."""
    return e164.lstrip("+")
