"""Login required everywhere, except views marked `login_not_required` and the machine APIs.

`/api/` authenticates with tokens through DRF (401/403 there), `/v1/` with source write keys.
"""

from django.contrib.auth.middleware import LoginRequiredMiddleware

MACHINE_PREFIXES = ("/api/", "/v1/")


class LoginRequiredExceptApiMiddleware(LoginRequiredMiddleware):
    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(MACHINE_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
