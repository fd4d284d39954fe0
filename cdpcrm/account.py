"""The user's own account pages: API tokens (create, shown once; revoke) and the login lockout page."""

from datetime import UTC, datetime, time

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from common.forms import BootstrapFormMixin
from common.security.models import ApiToken
from common.security.tokens import api_token_create, api_token_revoke


class ApiTokenForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses this token, e.g. “warehouse sync”.")
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ)
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The token stops working at the start of this day (UTC).",
    )

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day is not None and day <= timezone.now().date():
            raise forms.ValidationError("Choose a day after today.")
        return day


NEW_KEY = "api_token_new_key"


@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        day = form.cleaned_data["expires_on"]
        _token, key = api_token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_at=datetime.combine(day, time.min, tzinfo=UTC) if day else None,
            actor=request.user,
        )
        # Post/redirect/get, so a reload does not make a second token; the key rides in the session
        # until the next page shows it, once.
        request.session[NEW_KEY] = key
        return redirect("api_tokens")
    tokens = ApiToken.objects.filter(user=request.user).order_by("revoked_at", "-created_at", "-id")
    new_key = request.session.pop(NEW_KEY, None) if request.method == "GET" else None
    return render(request, "cdpcrm/api_tokens.html", {"form": form, "tokens": tokens, "new_key": new_key})


@require_POST
def api_token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk, user=request.user)
    api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token “{token.name}” revoked: requests using it are now refused.")
    return redirect("api_tokens")


@login_not_required
def login_locked_out(
    request: HttpRequest, original_response=None, credentials: dict | None = None
) -> HttpResponse:
    """django-axes calls this instead of logging in once a user name + address pair is locked."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"Too many failed logins for this account from your address. Logging in is blocked for {minutes} "
        "minutes; wait and try again, or ask an administrator to unlock the account."
    )
    return render(request, "registration/login.html", {"locked_out": message, "next": ""}, status=429)
