"""DRF authentication by ApiToken: `Authorization: Token <key>` or `Bearer <key>`; read-only scope enforced."""

from rest_framework import authentication, exceptions

from .models import ApiToken
from .tokens import api_token_find

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower().decode(errors="replace") not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: give the key after `Token `.")
        try:
            key = parts[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: the key has invalid characters."
            ) from exc
        token, reason = api_token_find(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed(reason)
        if token.scope == ApiToken.Scope.READ and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied(
                f"This API token is read-only: it may not {request.method}. Create a read-write token to change data."
            )
        return token.user, token

    def authenticate_header(self, request):
        return "Token"
