"""API token services: create (the key is returned once), revoke, and look a key up."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from .audit import audit_record
from .models import ApiToken, AuditEntry

# Keys look like "cdp_<12 hex>_<secret>"; keys migrated from the old authtoken table are 40 hex digits,
# found by their first 8 (a prefix length new keys never have).
KEY_PREFIX = "cdp_"
LEGACY_PREFIX_LENGTH = 8
LAST_USED_EVERY = timedelta(minutes=5)  # at most one write per token per 5 minutes


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _prefix_of(key: str) -> str:
    if key.startswith(KEY_PREFIX):
        return key[len(KEY_PREFIX) :].split("_", 1)[0]
    return key[:LEGACY_PREFIX_LENGTH]


def api_token_create(*, user, name: str, scope: str = ApiToken.Scope.WRITE, expires_at=None, actor=None):
    """Create a token; returns (token, key). The key is not stored and cannot be shown again."""
    for _attempt in range(5):
        prefix = secrets.token_hex(6)
        key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user,
                    name=name,
                    prefix=prefix,
                    key_hash=key_hash(key),
                    scope=scope,
                    expires_at=expires_at,
                )
                audit_record(
                    actor=actor or user,
                    action=AuditEntry.Action.TOKEN_CREATED,
                    target=f"{user.get_username()}: {token}",
                    detail={
                        "token_id": token.pk,
                        "scope": scope,
                        "expires_at": expires_at and expires_at.isoformat(),
                    },
                )
        except IntegrityError:
            continue  # prefix collision: draw again
        return token, key
    raise RuntimeError("Could not draw a unique token prefix.")


def api_token_revoke(*, token: ApiToken, actor) -> ApiToken:
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(
                actor=actor,
                action=AuditEntry.Action.TOKEN_REVOKED,
                target=f"{token.user.get_username()}: {token}",
                detail={"token_id": token.pk},
            )
    return token


def api_token_find(*, key: str) -> tuple[ApiToken | None, str]:
    """The active token for `key`, or (None, reason in plain words)."""
    key = key.strip()
    if not key:
        return None, "No API token was given."
    token = ApiToken.objects.select_related("user").filter(prefix=_prefix_of(key)).first()
    if token is None or not hmac.compare_digest(token.key_hash, key_hash(key)):
        return None, "The API token is not valid."
    if token.revoked_at is not None:
        return None, "The API token was revoked."
    if token.is_expired:
        return None, "The API token has expired."
    if not token.user.is_active:
        return None, "The user of this API token is inactive."
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token, ""
