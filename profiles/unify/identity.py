"""Identifiers: what an event says about who sent it, normalised (user_id, anonymous_id, email, phone, external ids).

Identifiers are (kind, value) pairs: user_id, anonymous_id, email (lower-cased, trimmed), phone (E.164) and
external ids `external:<namespace>` (context.externalIds, or traits named in IDENTITY_EXTERNAL_TRAITS).
One Identity row per pair, unique in the database. Blocked values (IDENTITY_BLOCKED_VALUES: "null",
"undefined", "0"...) never link anything. How identifiers tie profiles together is resolution.py.
"""

from collections.abc import Iterable

import phonenumbers
from django.conf import settings

from ..ingest import store
from ..ingest.normalize import NormalizedEvent
from ..models import Event, Identity, Profile

Identifier = tuple[str, str]
USER_ID = Identity.Kind.USER_ID.value
ANONYMOUS_ID = Identity.Kind.ANONYMOUS_ID.value
EMAIL = Identity.Kind.EMAIL.value
PHONE = Identity.Kind.PHONE.value
EXTERNAL_PREFIX = "external:"
DEFAULT_BLOCKED = ("", "null", "undefined", "none", "nil", "0", "-1", "nan", "unknown", "anonymous")


_blocked_memo: tuple[object, set[str]] = (object(), set())


def blocked_values() -> set[str]:
    """The normalised blocked values; computed once per settings value (this runs for every identifier)."""
    global _blocked_memo
    configured = getattr(settings, "IDENTITY_BLOCKED_VALUES", None)
    if configured is not _blocked_memo[0]:
        values = DEFAULT_BLOCKED if configured is None else configured
        _blocked_memo = (configured, {str(value).strip().lower() for value in values})
    return _blocked_memo[1]


def phone_e164(value) -> str:
    """The E.164 form of a phone number, or "" when it is not a valid number."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return ""
    region = getattr(settings, "PHONENUMBER_DEFAULT_REGION", None) or None
    try:
        number = phonenumbers.parse(str(value), region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def identifier_normalize(kind: str, value) -> str:
    """The stored form of an identifier value, or "" when it must not link (blocked, malformed)."""
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    text = str(value).strip()
    if kind == EMAIL:
        text = text.lower()
        if "@" not in text:
            return ""
    elif kind == PHONE:
        text = phone_e164(text)
    if not text or len(text) > 255 or text.lower() in blocked_values():
        return ""
    return text


def _traits_of(event: NormalizedEvent) -> dict:
    traits = dict(event.context.get("traits") or {}) if isinstance(event.context.get("traits"), dict) else {}
    traits.update(event.traits or {})
    return traits


def event_identifiers(event: NormalizedEvent) -> list[Identifier]:
    """The event's identifiers, strongest first (user_id, email, phone, external ids, anonymous id)."""
    traits = _traits_of(event)
    pairs: list[Identifier] = [(USER_ID, event.user_id), (EMAIL, event.email or traits.get("email"))]
    pairs.append((PHONE, traits.get("phone")))
    external_ids = event.context.get("externalIds")
    if isinstance(external_ids, list):
        for item in external_ids:
            if isinstance(item, dict) and isinstance(item.get("type"), str) and item.get("id") is not None:
                pairs.append((EXTERNAL_PREFIX + item["type"].strip().lower()[:50], item["id"]))
    for trait, namespace in getattr(settings, "IDENTITY_EXTERNAL_TRAITS", {}).items():
        if traits.get(trait) is not None:
            pairs.append((EXTERNAL_PREFIX + namespace, traits[trait]))
    pairs.append((ANONYMOUS_ID, event.anonymous_id))
    seen: list[Identifier] = []
    for kind, raw in pairs:
        value = identifier_normalize(kind, raw)
        if value and (kind, value) not in seen:
            seen.append((kind, value))
    return seen


def alias_candidates(event: NormalizedEvent) -> list[Identifier]:
    """An alias call's previousId may be a user id or an anonymous id."""
    value = identifier_normalize(USER_ID, event.previous_id) if event.type == "alias" else ""
    return [(USER_ID, value), (ANONYMOUS_ID, value)] if value else []


def identifier_parse(text: str) -> Identifier | None:
    """ "kind:value" (e.g. "email:Ann@example.com", "external:shop:42") -> normalised pair, or None."""
    if text.startswith(EXTERNAL_PREFIX):
        namespace, _, value = text[len(EXTERNAL_PREFIX) :].partition(":")
        kind = EXTERNAL_PREFIX + namespace.strip().lower()
        if not namespace or not value:
            return None
    else:
        kind, sep, value = text.partition(":")
        if not sep or kind not in (USER_ID, ANONYMOUS_ID, EMAIL, PHONE):
            return None
    value = identifier_normalize(kind, value)
    return (kind, value) if value else None


def identities_load(identifiers: Iterable[Identifier]) -> dict[Identifier, int]:
    """(kind, value) -> profile id of the stored identities among these; one query."""
    return store.identities_owned(pairs=identifiers)


def profile_by_identifier(*, identifier: Identifier) -> Profile | None:
    """The live profile an identifier belongs to (identities always point at live profiles)."""
    return Profile.objects.filter(identities__kind=identifier[0], identities__value=identifier[1]).first()


def profile_live(*, profile: Profile) -> Profile:
    """Follow merged_into to the live survivor."""
    seen = set()
    while profile.merged_into_id is not None and profile.pk not in seen:
        seen.add(profile.pk)
        profile = Profile.objects.get(pk=profile.merged_into_id)
    return profile


def row_identifiers(event: Event) -> set[Identifier]:
    normalized = NormalizedEvent(
        message_id=event.message_id,
        type=event.type,
        timestamp=event.timestamp,
        received_at=event.received_at,
        user_id=event.user_id,
        anonymous_id=event.anonymous_id,
        previous_id=event.previous_id,
        email=str((event.traits or {}).get("email") or "").strip().lower(),
        traits=event.traits or {},
        context=event.context or {},
    )
    return set(event_identifiers(normalized)) | set(alias_candidates(normalized))
