"""Writes of sources: creating one with its write key, rotating the key, renaming, enabling and disabling."""

import secrets

from django.db import transaction
from django.utils import timezone

from ..models import Source
from ..tracking.cache import write_key_digest

WRITE_KEY_PREFIX_LENGTH = 8


def _new_write_key() -> str:
    return secrets.token_urlsafe(24)


@transaction.atomic
def source_create(*, name: str, kind: str) -> tuple[Source, str]:
    """A new source and its write key; the key is returned once and only its hash is kept."""
    write_key = _new_write_key()
    source = Source(
        name=name.strip(),
        kind=kind,
        write_key_hash=write_key_digest(write_key),
        write_key_prefix=write_key[:WRITE_KEY_PREFIX_LENGTH],
        public_write_key=write_key if kind == Source.Kind.WEBSITE else "",
    )
    source.full_clean()
    source.save()
    return source, write_key


@transaction.atomic
def source_rotate_key(*, source: Source) -> str:
    """Replace the write key; the old key stops working at once."""
    write_key = _new_write_key()
    source.write_key_hash = write_key_digest(write_key)
    source.write_key_prefix = write_key[:WRITE_KEY_PREFIX_LENGTH]
    source.key_rotated_at = timezone.now()
    source.public_write_key = write_key if source.is_browser else ""
    source.save(
        update_fields=[
            "write_key_hash",
            "write_key_prefix",
            "public_write_key",
            "key_rotated_at",
            "updated_at",
        ]
    )
    return write_key


def source_update(
    *, source: Source, name: str | None = None, kind: str | None = None, enabled: bool | None = None
) -> Source:
    for field_name, value in (("name", name), ("kind", kind), ("enabled", enabled)):
        if value is not None:
            setattr(source, field_name, value.strip() if isinstance(value, str) else value)
    if not source.is_browser:
        source.public_write_key = ""  # no longer a website: its key is a secret again
    source.full_clean(exclude=["write_key_hash"])
    source.save(update_fields=["name", "kind", "enabled", "public_write_key", "updated_at"])
    return source


def source_set_enabled(*, source: Source, enabled: bool) -> Source:
    source.enabled = enabled
    source.save(update_fields=["enabled", "updated_at"])
    return source
